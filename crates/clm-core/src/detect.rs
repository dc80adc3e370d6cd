//! TEMPORARY shim (the lead's placeholder until the detectors module lands; overwrite me).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    Email,
    Phone,
}
impl Detector {
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
        }
    }
}
pub fn first_hit(text: &str) -> Option<Detector> {
    if text.contains('@') {
        return Some(Detector::Email);
    }
    if text.chars().filter(|c| c.is_ascii_digit()).count() >= 10 {
        return Some(Detector::Phone);
    }
    None
}
