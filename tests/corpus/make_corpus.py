#!/usr/bin/env python3
"""Writes the bad-input corpus: one directory per case beside this script (see README.md).

Run it after changing a case; it rewrites every case directory (and nothing else here).
The 10 MB field and the workbooks are made by the test itself (`generate` in expected.toml).
"""
import os, shutil, codecs
ROOT = os.path.dirname(os.path.abspath(__file__))
for entry in os.listdir(ROOT):
    if os.path.isdir(os.path.join(ROOT, entry)):
        shutil.rmtree(os.path.join(ROOT, entry))

N1 = "Зыбкинова Ульяна Прокловна"
N2 = "Тверитинов Аркадий Ермолаевич"
N3 = "Ноздреватый Елисей Карпович"
P1 = "+7 913 555-01-77"
P2 = "8 (922) 444-19-03"
P3 = "89035550288"
HDR = "Код;ФИО;Телефон;Регистрация"

MAP_CLIENTS = '''[source]
delimiter = ";"
date_format = "DD.MM.YYYY"
datetime_format = "DD.MM.YYYY HH:mm"

[policy]
rare_k = 1

[tables.clients]
file = "clients.csv"

[tables.clients.fields]
client_id = "Код"
full_name = "ФИО"
phone = { column = "Телефон", normalize = "digits" }
registered_on = "Регистрация"
'''

VISITS_MAP = '''
[tables.visits]
file = "visits.csv"

[tables.visits.fields]
client_id = "Код"
visited_at = "Вход"
'''

MEMB_MAP = '''
[tables.memberships]
file = "memberships.csv"

[tables.memberships.fields]
membership_id = "Номер"
client_id = "Код"
start_date = "Начало"
end_date = "Конец"
price = "Цена"
status = { column = "Статус", map = { "Активен" = "active", "Заморожен" = "frozen", "Аннулирован" = "cancelled" } }
'''

def rows3(reg=("01.02.2024", "15.03.2024", "20.04.2024")):
    return [f"0001;{N1};{P1};{reg[0]}", f"0002;{N2};{P2};{reg[1]}", f"0003;{N3};{P3};{reg[2]}"]

def text(lines, nl="\n", end=True):
    return nl.join(lines) + (nl if end else "")

def toml_list(xs):
    return "[" + ", ".join('"' + x.replace('\\', '\\\\').replace('"', '\\"') + '"' for x in xs) + "]"

def case(name, desc, files, expected, mapping=MAP_CLIENTS, planted=(N1, N2, N3, P1, P2, P3)):
    d = os.path.join(ROOT, name)
    os.makedirs(d)
    if mapping is not None:
        open(os.path.join(d, "mapping.toml"), "w").write(mapping)
    for fn, content in files.items():
        b = content if isinstance(content, bytes) else content.encode("utf-8")
        open(os.path.join(d, fn), "wb").write(b)
    e = f'description = "{desc}"\n'
    e += f"planted = {toml_list(list(planted))}\n"
    e += expected
    open(os.path.join(d, "expected.toml"), "w").write(e)

def ok(clients=None, rejected=0, reasons=None, extra=""):
    s = 'outcome = "ok"\n' + extra
    if clients is not None:
        s += f"\n[tables.clients]\nrows_out = {clients}\nrows_rejected = {rejected}\n"
        if reasons:
            s += "reasons = { " + ", ".join(f'"{k}" = {v}' for k, v in reasons.items()) + " }\n"
    return s

def err(msg):
    return f'outcome = "error"\nmessage = "{msg}"\n'

C = "clients.csv"
case("empty_file", "a zero-byte file", {C: b""}, err("the file is empty"), planted=())
case("header_only", "a header and no rows: the export stops (an empty clients table), unless --allow-empty", {C: HDR + "\n"}, err("the clients table is empty"), planted=())
case("wrong_delimiter", "commas where the mapping says semicolons",
     {C: text([HDR.replace(";", ",")] + [r.replace(";", ",") for r in rows3()])}, err("is the delimiter ','"))
bom16 = codecs.BOM_UTF16_LE + text([HDR] + rows3(), "\r\n").encode("utf-16-le")
case("utf16le_bom", "UTF-16 LE with a BOM (Excel's 'Unicode text')", {C: bom16}, ok(3))
case("utf16le_no_bom", "UTF-16 LE without a BOM", {C: text([HDR] + rows3(), "\r\n").encode("utf-16-le")}, ok(3))
case("utf16be_bom", "UTF-16 BE with a BOM", {C: codecs.BOM_UTF16_BE + text([HDR] + rows3()).encode("utf-16-be")}, ok(3))
case("cp1251", "Windows-1251, the default of Russian accounting software", {C: text([HDR] + rows3(), "\r\n").encode("cp1251")}, ok(3))
case("utf8_bom", "UTF-8 with a BOM", {C: codecs.BOM_UTF8 + text([HDR] + rows3()).encode()}, ok(3))
r = rows3()
mixed = (text([HDR, r[0], r[1]])).encode() + (r[2] + "\n").encode("cp1251")
case("mixed_encodings", "a UTF-8 file with one line in Windows-1251", {C: mixed},
     ok(2, 1, {"bytes not valid in the file's encoding (UTF-8)": 1}))
case("truncated_last_line", "the last line cut off mid-record, no newline",
     {C: text([HDR] + rows3()[:2]) + "0003;Ноздреват"}, ok(2, 1, {"expected 4 fields, found 2": 1}), planted=(N1, N2, P1, P2))
six = [f"000{i};{n};{p};0{i}.02.2024" for i, (n, p) in enumerate([(N1, P1), (N2, P2), (N3, P3), ("Ухватова Гликерия Саввична", "89160000111"), ("Пришвина Агния Тихоновна", "89160000222"), ("Глотов Нифонт Лукич", "89160000333")], 1)]
uq = list(six)
uq[1] = uq[1].replace(N2, '"' + N2)
case("unbalanced_quote", "a stray opening quote on line 3: that record is rejected, the rows after it are read",
     {C: text([HDR] + uq)}, ok(5, 1, {"unclosed quote: the quoted field does not end on its line (the lines after it are read on their own)": 1}))
uq2 = list(six)
uq2[1] = uq2[1].replace(N2, '"' + N2)
uq2[4] = uq2[4].replace("Пришвина", 'Приш"вина')
case("unbalanced_quote_closed_later", "a stray quote on line 3 closed by another on line 6: the merged record is split again",
     {C: text([HDR] + uq2)}, ok(5, 1, {"unclosed quote: the quoted field does not end on its line (the lines after it are read on their own)": 1}))
case("unclosed_quote_last_line", "an opening quote in the last line",
     {C: text([HDR] + rows3()[:2] + ['0003;"' + N3 + ';' + P3 + ';01.01.2024'])},
     ok(2, 1, {"unclosed quote: a quoted field runs to the end of the file": 1}))
MAP_NOTES = MAP_CLIENTS + 'notes = "Примечание"\n'
case("big_field", "a 10 MB field (generated by the test): cut at 1 MB and the row rejected",
     {}, 'generate = "big_field"\n' + ok(2, 1, {"a field is longer than 1 MB": 1}), mapping=MAP_NOTES, planted=(N1, N2, P1, P2, "ОГРОМНОЕПОЛЕ"))
case("date_31_02", "31.02.2025 is no date", {C: text([HDR] + rows3(("01.02.2024", "31.02.2025", "20.04.2024")))},
     ok(2, 1, {"registered_on: not a calendar date": 1}))
MAP_YY = MAP_CLIENTS.replace('date_format = "DD.MM.YYYY"', 'date_format = "DD.MM.YY"')
case("two_digit_years", "DD.MM.YY dates (00-69 are 20xx, 70-99 19xx); a four-digit year under YY is rejected",
     {C: text([HDR] + rows3(("01.02.24", "15.03.99", "20.04.2024")))}, ok(2, 1, {"registered_on: unexpected text after a date like DD.MM.YY": 1}), mapping=MAP_YY)
MAP_XL = MAP_CLIENTS.replace('registered_on = "Регистрация"', 'registered_on = { column = "Регистрация", format = "excel" }')
case("excel_serial_dates_csv", "Excel serial numbers in a CSV date column (format = \\\"excel\\\"); serial 60 is Excel's 29.02.1900",
     {C: text([HDR] + rows3(("45292", "45292,75", "60")))}, ok(2, 1, {"registered_on: not a calendar date (Excel serial 60 is 29.02.1900, which does not exist)": 1}), mapping=MAP_XL)
MAP_XLSX = MAP_CLIENTS.replace('file = "clients.csv"', 'file = "club.xlsx"\nsheet = "Клиенты"')
case("xlsx_dates", "a workbook (generated by the test): date cells, serial numbers, text dates, serial 60",
     {}, 'generate = "xlsx"\n' + ok(3, 1, {"registered_on: expected a date like DD.MM.YYYY": 1}), mapping=MAP_XLSX)
MAP_XLSX2 = MAP_XLSX.replace('sheet = "Клиенты"', 'sheet = "Клиенты 2025"')
case("xlsx_missing_sheet", "the mapping names a sheet the workbook does not have", {}, 'generate = "xlsx"\n' + err("no sheet \\\"Клиенты 2025\\\""), mapping=MAP_XLSX2)
case("xlsx_is_csv", "a workbook named .csv", {}, 'generate = "xlsx_as_csv"\n' + err("ZIP archive"))
mem = MAP_CLIENTS + MEMB_MAP
MH = "Номер;Код;Начало;Конец;Цена;Статус"
case("nbsp_thousands", "amounts with NBSP, narrow NBSP and space thousands separators; three decimals rejected",
     {C: text([HDR] + rows3()), "memberships.csv": text([MH, "M1;0001;01.02.2024;29.02.2024;1\u00a0500,00;Активен", "M2;0002;01.02.2024;29.02.2024;2 000,50;Активен",
                                                            "M3;0003;01.02.2024;29.02.2024;1\u202f000\u00a0000,00;Активен", "M4;0003;01.03.2024;31.03.2024;12,345;Активен"])},
     ok(3, 0, extra="") + '\n[tables.memberships]\nrows_out = 3\nrows_rejected = 1\nreasons = { "price: more than 2 decimal places" = 1 }\n[sums]\n"memberships.price" = 100350050\n', mapping=mem)
case("null_markers", "—, н.д., NULL read as empty: fine in an optional field, a rejection in a required one",
     {C: text([HDR, f"0001;{N1};{P1};—", f"0002;{N2};{P2};н.д.", f"0003;{N3};{P3};NULL", f"NULL;Ухватова Гликерия Саввична;н.д.;01.01.2024"])},
     ok(3, 1, {"client_id: empty": 1}), planted=(N1, N2, N3, P1, P2, P3, "Ухватова"))
MAP_NM = MAP_CLIENTS.replace('datetime_format = "DD.MM.YYYY HH:mm"', 'datetime_format = "DD.MM.YYYY HH:mm"\nnull_markers = ["?"]')
case("custom_null_markers", "null_markers = [\\\"?\\\"]: ? is empty, NULL is text again",
     {C: text([HDR, f"0001;{N1};{P1};?", f"0002;{N2};{P2};NULL", f"0003;{N3};{P3};01.01.2024"])},
     ok(2, 1, {"registered_on: expected a date like DD.MM.YYYY": 1}), mapping=MAP_NM)
case("duplicate_header_mapped", "the mapped column ФИО appears twice in the header",
     {C: text(["Код;ФИО;Телефон;Регистрация;ФИО"] + [x + ";" + N1 for x in rows3()])}, err("appears 2 times"))
case("duplicate_header_unmapped", "an unmapped column appears twice: harmless",
     {C: text(["Код;ФИО;Телефон;Регистрация;Примечание;Примечание"] + [x + ";a;b" for x in rows3()])}, ok(3))
r = rows3()
bom_mid = (codecs.BOM_UTF8 + text([HDR, r[0]]).encode()) + (codecs.BOM_UTF8 + text([HDR, r[1]]).encode()) + (codecs.BOM_UTF8 + (r[2] + "\n").encode())
case("bom_in_middle", "two files joined: a BOM and the header again in the middle, a BOM before a data row",
     {C: bom_mid}, ok(3, 1, {"the header row again (were files joined together?)": 1}) + '\n[distinct]\n"clients.client_pid" = 3\n[same_pid]\n"clients.client_pid" = "0003"\n')
case("mixed_crlf_lf", "CRLF and LF line ends in one file", {C: HDR + "\r\n" + r[0] + "\n" + r[1] + "\r\n" + r[2]}, ok(3))
case("old_mac_cr", "CR-only line ends", {C: text([HDR] + rows3(), "\r")}, ok(3))
case("date_before_1900", "a registration in 1899: exported, and a check warning",
     {C: text([HDR] + rows3(("15.06.1899", "15.03.2024", "20.04.2024")))}, ok(3) + '\n[check]\nexit = 0\nlevels = { "clients.dates_before_1900" = "warn" }\n')
VH = "Код;Вход"
case("visit_before_registration", "a visit before the client registered: a check warning, not a rejection",
     {C: text([HDR] + rows3()), "visits.csv": text([VH, "0001;05.03.2024 18:47", "0002;01.03.2024 09:00", "0003;21.04.2024 10:00"])},
     ok(3) + '\n[tables.visits]\nrows_out = 3\nrows_rejected = 0\n[check]\nexit = 0\nlevels = { "visits.before_registration" = "warn", "visits.unknown_clients" = "pass" }\n', mapping=MAP_CLIENTS + VISITS_MAP)
case("negative_price", "a negative price (a refund?): exported, and a check warning",
     {C: text([HDR] + rows3()), "memberships.csv": text([MH, "M1;0001;01.02.2024;29.02.2024;-1 500,00;Активен", "M2;0002;01.02.2024;29.02.2024;1 500,00;Аннулирован"])},
     ok(3) + '\n[tables.memberships]\nrows_out = 2\nrows_rejected = 0\n[check]\nexit = 0\nlevels = { "memberships.negative_amounts" = "warn" }\n', mapping=mem)
case("leading_zeros", "ids 007, 7 and 0007 are three clients",
     {C: text([HDR, f"007;{N1};{P1};01.02.2024", f"7;{N2};{P2};01.02.2024", f"0007;{N3};{P3};01.02.2024"])},
     ok(3) + '\n[distinct]\n"clients.client_pid" = 3\n[same_pid]\n"clients.client_pid" = "007"\n')
MAP_MISSING = MAP_CLIENTS.replace('registered_on = "Регистрация"', 'registered_on = "Дата регистрации"')
case("missing_mapped_column", "the mapping names a column the file does not have", {C: text([HDR] + rows3())}, err("not in the header"), mapping=MAP_MISSING)
case("unknown_status", "a membership status outside the vocabulary and the value map",
     {C: text([HDR] + rows3()), "memberships.csv": text([MH, "M1;0001;01.02.2024;29.02.2024;100;Активен", "M2;0002;01.02.2024;29.02.2024;100;Непонятный"])},
     ok(3) + '\n[tables.memberships]\nrows_out = 1\nrows_rejected = 1\nreasons = { "status: not one of active, frozen, cancelled (add a value map in the mapping)" = 1 }\n', mapping=mem)
case("not_text", "a binary file with NUL bytes", {C: bytes(range(256)) * 8}, err("not a text file"), planted=())
case("whitespace_lines", "lines of spaces are rejected as empty lines; truly empty lines are skipped",
     {C: text([HDR, r[0], "", "   ", r[1], "", r[2], ""])}, ok(3, 1, {"empty line": 1}))
q = f'0003;"{N3}\nпродолжение; с точкой с запятой\nи третья строка";{P3};20.04.2024'
case("quoted_multiline_field", "a properly quoted field with line breaks and delimiters", {C: text([HDR, r[0], r[1], q])}, ok(3))
case("extra_field", "a row with one field too many", {C: text([HDR, r[0], r[1] + ";лишнее", r[2]])}, ok(2, 1, {"expected 4 fields, found 5": 1}))
case("future_dates", "a registration after the as-of date: a check warning",
     {C: text([HDR] + rows3(("01.02.2024", "15.03.2024", "01.01.2030")))}, ok(3) + '\n[check]\nexit = 0\nlevels = { "clients.future_dates" = "warn" }\n')
case("duplicate_client_ids", "the same client id twice: the first row is kept, the later one rejected; the check fails",
     {C: text([HDR, r[0], r[1], r[2].replace("0003", "0001")])}, ok(2, 1, {"client_id: duplicate client id": 1}) + '\n[check]\nexit = 1\nlevels = { "clients.duplicate_ids" = "fail" }\n')
case("unknown_clients", "visits of a client the clients table does not have",
     {C: text([HDR] + rows3()), "visits.csv": text([VH, "0001;05.03.2024 18:47", "0099;05.03.2024 19:00"] + ["0002;05.04.2024 10:00"] * 30)},
     ok(3) + '\n[tables.visits]\nrows_out = 32\nrows_rejected = 0\n[check]\nexit = 0\nlevels = { "visits.unknown_clients" = "warn" }\n', mapping=MAP_CLIENTS + VISITS_MAP)
case("end_before_start", "a membership that ends before it starts",
     {C: text([HDR] + rows3()), "memberships.csv": text([MH, "M1;0001;01.03.2024;01.02.2024;100;Активен"] + [f"M{d};0002;{d:02}.01.2024;{d:02}.01.2024;100;Активен" for d in range(2, 23)])},
     ok(3) + '\n[check]\nexit = 0\nlevels = { "memberships.end_before_start" = "warn" }\n', mapping=mem)
case("overlapping_memberships", "two non-cancelled memberships of one client overlap (a cancelled one does not count)",
     {C: text([HDR] + rows3()), "memberships.csv": text([MH, "M1;0001;01.01.2024;31.03.2024;100;Активен", "M2;0001;01.03.2024;31.05.2024;100;Активен",
                                                            "M3;0002;01.01.2024;31.03.2024;100;Активен", "M4;0002;01.03.2024;31.05.2024;100;Аннулирован"])},
     ok(3) + '\n[check]\nexit = 0\nlevels = { "memberships.overlapping_memberships" = "warn" }\n[check_counts]\n"memberships.overlapping_memberships" = 1\n', mapping=mem)
case("clients_without_contact", "a client with neither phone nor e-mail",
     {C: text([HDR, r[0], r[1], f"0003;{N3};;20.04.2024"])}, ok(3) + '\n[check]\nexit = 0\nlevels = { "clients.clients_without_contact" = "warn" }\n[check_counts]\n"clients.clients_without_contact" = 1\n', planted=(N1, N2, N3, P1, P2))
MAP_TAB = MAP_CLIENTS.replace('delimiter = ";"', 'delimiter = "\\t"')
case("tab_delimiter", "tab-separated", {C: text([HDR.replace(";", "\t")] + [x.replace(";", "\t") for x in rows3()])}, ok(3), mapping=MAP_TAB)
MAP_PIPE = MAP_CLIENTS.replace('delimiter = ";"', 'delimiter = "|"')
case("pipe_delimiter", "pipe-separated", {C: text([HDR.replace(";", "|")] + [x.replace(";", "|") for x in rows3()])}, ok(3), mapping=MAP_PIPE)
MAP_SRC = MAP_CLIENTS + 'lead_source = "Источник"\n'
case("pii_in_category", "a phone number in a category column stops the export, and the message does not repeat it",
     {C: text([HDR + ";Источник", r[0] + ";Сайт", r[1] + ";Сайт", r[2] + ";позвонить +7 916 123-45-67"])}, err("look like personal data"),
     mapping=MAP_SRC, planted=(N1, N2, N3, P1, P2, P3, "123-45-67"))
case("latin_name_in_category", "a transliterated full name in a category column stops the export, and the message does not repeat it",
     {C: text([HDR + ";Источник", r[0] + ";Сайт", r[1] + ";Сайт", r[2] + ";Zybkinova Ulyana Proklovna"])}, err("full_name: 1"),
     mapping=MAP_SRC, planted=(N1, N2, N3, P1, P2, P3, "Zybkinova", "Proklovna"))
MAP_U8 = MAP_CLIENTS.replace('delimiter = ";"', 'delimiter = ";"\nencoding = "utf-8"')
case("declared_utf8_is_cp1251", "a Windows-1251 file declared UTF-8", {C: text([HDR] + rows3()).encode("cp1251")}, err("not valid UTF-8"), mapping=MAP_U8)
case("bad_mapping_toml", "a mapping that is not TOML", {C: text([HDR] + rows3())}, err("mapping"), mapping='[tables.clients\nfile = ')
case("mapping_without_clients", "a mapping without the clients table: derived from the visits' client ids",
     {"visits.csv": text([VH, "0001;05.03.2024 18:47"])},
     ok(1) + '\n[tables.visits]\nrows_out = 1\nrows_rejected = 0\n\n[same_pid]\n"clients.client_pid" = "0001"\n',
     mapping='[tables.visits]\nfile = "visits.csv"\n[tables.visits.fields]\nclient_id = "Код"\nvisited_at = "Вход"\n', planted=())
case("sales_without_ids", "a sales-only export: no clients table, no sale id (row positions become sale ids)",
     {"sales.csv": text(["Клиент;Дата;Сумма", "0001;05.03.2024 18:47;100,00", "0002;05.03.2024 19:00;50,00",
                         "0001;06.03.2024 10:00;100,00", "0001;06.03.2024 10:00;100,00"])},
     ok(2) + '\n[tables.sales]\nrows_out = 4\nrows_rejected = 0\n\n[distinct]\n"sales.sale_pid" = 4\n"clients.client_pid" = 2\n\n'
     '[same_pid]\n"sales.client_pid" = "0002"\n\n[sums]\n"sales.amount" = 35000\n',
     mapping='[source]\ndelimiter = ";"\ndatetime_format = "DD.MM.YYYY HH:mm"\n[policy]\nrare_k = 1\n'
             '[tables.sales]\nfile = "sales.csv"\n[tables.sales.fields]\nclient_id = "Клиент"\nsold_at = "Дата"\namount = "Сумма"\n', planted=())
case("datetime_fraction_seconds", "timestamps with fractional seconds and a date-only value",
     {C: text([HDR] + rows3()), "visits.csv": text([VH, "0001;05.03.2024 18:47:12.345", "0002;05.03.2024", "0003;05.03.2024 25:00"])},
     ok(3) + '\n[tables.visits]\nrows_out = 2\nrows_rejected = 1\nreasons = { "visited_at: not a valid time" = 1 }\n',
     mapping=(MAP_CLIENTS + VISITS_MAP).replace('datetime_format = "DD.MM.YYYY HH:mm"', 'datetime_format = "DD.MM.YYYY HH:mm:ss"'))
case("no_header_row", "a file without its header row: the error names no cell of the first row",
     {C: text(rows3())}, err("is the header row missing?"))
case("data_in_an_unused_header_cell", "a phone number in the header of an unmapped column: dropped, and not named in the manifest",
     {C: text([HDR + ";" + "+7 999 000-11-22"] + [x + ";" for x in rows3()])}, ok(3), planted=(N1, N2, N3, P1, P2, P3, "000-11-22"))
print(sum(os.path.isdir(os.path.join(ROOT, e)) for e in os.listdir(ROOT)), 'cases')
