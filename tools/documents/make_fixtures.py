#!/usr/bin/env python3
"""Writes the small document fixtures: the PDFs of Tests/PDFParsingTests/Fixtures, the
office files of Tests/IngestTests/Fixtures/documents (DOCX, PPTX, XLSX, ODT, EPUB and
hostile ones), and the PDF and DOCX of the sample corpus in data/. Run by hand after changing it; the outputs are committed, so tests never
need Python packages:

    pip install fpdf2 pillow python-docx python-pptx openpyxl ebooklib
    python3 tools/documents/make_fixtures.py

Deterministic: fixed creation dates and document ids, so a rerun changes nothing.
"""
import datetime
import io
import os
import re
import sys
import zipfile

from fpdf import FPDF
from fpdf.enums import EncryptionMethod

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "Tests", "PDFParsingTests", "Fixtures")
OFFICE = os.path.join(ROOT, "Tests", "IngestTests", "Fixtures", "documents")
DATA = os.path.join(ROOT, "data")
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
EPOCH = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


class Report(FPDF):
    """A4 pages with a running header and a "Page N of M" footer."""

    def __init__(self, header_text=None, footer=True):
        super().__init__(format="A4")
        self.header_text = header_text
        self.with_footer = footer
        self.set_creation_date(EPOCH)
        self.set_auto_page_break(True, margin=20)
        self.alias_nb_pages()

    def header(self):
        if self.header_text:
            self.set_font("Helvetica", "I", 9)
            self.cell(0, 8, self.header_text, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

    def footer(self):
        if self.with_footer:
            self.set_y(-15)
            self.set_font("Helvetica", "I", 9)
            self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")


def lines(pdf, text_lines, size=11):
    """Lines as given (so that the hyphenation at line ends is ours), a blank line between
    paragraphs ("" in the list)."""
    pdf.set_font("Helvetica", "", size)
    for line in text_lines:
        if line == "":
            pdf.ln(4)
        else:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")


def heading(pdf, text):
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")


REPORT_PAGES = [
    ("Harbour lights of the northern coast", [
        "This survey describes the lighthouses that guard the northern coast and",
        "the keepers who tended them. It was written for the harbour board, which",
        "asked for a record of every light, its lens, its fuel and its keepers before",
        "the last of the stations was automated. The survey took two summers and",
        "relied on logbooks, letters and the recollections of retired keepers.",
        "",
        "Each station is described on its own page. The descriptions give the year",
        "of first lighting, the height of the tower, the range of the light and the",
        "signal it shows, followed by a short history of the people who lived there.",
    ]),
    ("Skerry Point", [
        "Skerry Point was first lit in 1852. Its tower of dressed granite stands",
        "twenty-one metres above the rock and shows two white flashes every ten",
        "seconds. The light was automated in 1987, when the last keeper, Agnes",
        "Morrow, handed the station log to the harbour board. The station's infor-",
        "mation board still lists every keeper by name, from the first in 1852 to",
        "the last, together with the storms that each of them recorded.",
        "",
        "Supplies came by boat once a fortnight in summer and once a month in win-",
        "ter, weather permitting. In the hard winter of 1947 the relief boat could",
        "not land for seven weeks, and the keepers lived on salted fish and oatmeal.",
    ]),
    ("North Reef", [
        "The North Reef light stands on a tidal ledge two miles offshore. Its lens",
        "is a second-order Fresnel lens made in Paris in 1874, with a focal length",
        "of seven hundred millimetres; the lens turns on a bath of mercury and",
        "makes one revolution every twenty seconds. The original paraffin lamp was",
        "replaced by an electric lamp in 1961, and the fog signal, a compressed-air",
        "diaphone, was silenced in 2002 after complaints from the new holiday houses.",
        "",
        "Keepers at North Reef served four weeks on the rock and two weeks ashore.",
        "Their logbooks record the weather every three hours, the ships that passed",
        "and the birds that struck the lantern glass during the autumn migration.",
    ]),
    ("Conclusions", [
        "All of the stations in this survey are now automated and monitored from",
        "the harbour office. The towers remain in good repair. The board should",
        "keep the logbooks in the county archive, where they can be read by anyone",
        "who wishes to know how the lights were kept, and should record the recol-",
        "lections of the remaining keepers while they are still able to tell them.",
    ]),
]


def report():
    pdf = Report(header_text="Harbour Light Survey 2023")
    pdf.set_title("Harbour Light Survey")
    pdf.set_author("Northern Harbour Board")
    for title, body in REPORT_PAGES:
        pdf.add_page()
        heading(pdf, title)
        lines(pdf, body)
    return pdf


LAMPS = (
    "Early lights burned whale oil in flat wick lamps, which gave a smoky yellow flame and needed trimming "
    "every few hours through the night. Colza oil pressed from rape seed replaced whale oil in the eighteen "
    "thirties because it burned cleaner and cost less, and the keepers learned to warm it in winter so that "
    "it would flow. Paraffin replaced colza in the eighteen seventies, when the new oil fields made it cheap "
    "and plentiful, and multi-wick burners of four, five or six concentric wicks gave a flame large enough to "
    "fill the focus of the biggest lenses. Each burner had to be lit, trimmed and watched, and a keeper who "
    "let the flame smoke would find the lantern glass black by midnight. "
)
FUELS = (
    "Vaporised paraffin burners gave a brighter flame with an incandescent mantle, and they used less oil "
    "than the wick lamps they replaced. Acetylene gas allowed lights that needed no keeper at all: the gas "
    "was stored in cylinders beside the tower, and a sun valve invented by Gustaf Dalen closed the supply at "
    "dawn and opened it at dusk. Electric lamps came last, first where a station had its own generator and "
    "later from the mains, and with them came the automation that ended the service of the keepers. Today a "
    "light is watched from an office on the mainland, and a fault sends a message to the engineer on call. "
)


def columns():
    """Two columns on a page, with a wide gutter: reading order is the left column, then
    the right."""
    pdf = Report(header_text=None, footer=False)
    pdf.set_title("Lamps and Fuels")
    pdf.add_page()
    heading(pdf, "Lamps and fuels")
    top = pdf.get_y() + 2
    pdf.set_font("Helvetica", "", 10)
    pdf.set_xy(12, top)
    pdf.multi_cell(82, 5, LAMPS * 2)
    pdf.set_xy(114, top)
    pdf.multi_cell(82, 5, FUELS * 2)
    return pdf


def unicode_text():
    pdf = Report(header_text=None, footer=False)
    pdf.add_font("DejaVu", "", DEJAVU)
    pdf.set_title("Phares d'Europe")
    pdf.set_author("Société des phares")
    pdf.add_page()
    pdf.set_font("DejaVu", "", 12)
    for line in [
        "Le phare de Fécamp éclaire la côte d'Albâtre depuis 1834.",
        "Ålesund fyr står på Storholmen; fyrvokteren førte dagbok.",
        "Der Leuchtturm Roter Sand wurde 1885 in der Wesermündung gebaut.",
        "Маяк на острове Гогланд построен в 1723 году.",
    ]:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return pdf


def scanned():
    """A page that is only a picture: no text layer at all."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (300, 120), 255)
    draw = ImageDraw.Draw(image)
    for y in range(10, 110, 12):
        draw.line((10, y, 290, y), fill=0, width=3)
    data = io.BytesIO()
    image.save(data, format="PNG")
    pdf = Report(header_text=None, footer=False)
    for _ in range(2):
        pdf.add_page()
        pdf.image(io.BytesIO(data.getvalue()), x=20, y=20, w=150)
    return pdf


def encrypted(user_password):
    pdf = report()
    pdf.set_encryption(
        owner_password="harbour-board-owner", user_password=user_password, encryption_method=EncryptionMethod.RC4)
    return pdf


def write(pdf, name, folder=FIXTURES):
    path = os.path.join(folder, name)
    data = bytes(pdf.output())
    with open(path, "wb") as f:
        f.write(data)
    return data


def fixed_zip_times(path):
    """Rewrites a ZIP with fixed entry times (and order) and fixed timestamps inside its
    metadata parts (libraries stamp "modified" with the time of saving), so that reruns
    are identical."""
    stamp = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?")
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename), i.compress_type) for i in z.infolist()]
    items = [(n, stamp.sub(b"2024-01-02T03:04:05Z", d) if n.endswith((".opf", "core.xml")) else d, c) for n, d, c in items]
    with zipfile.ZipFile(path, "w") as z:
        for name, data, compress in items:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


def docx_fixture(path):
    import docx

    d = docx.Document()
    d.core_properties.title = "Keeper's Handbook"
    d.core_properties.author = "Northern Harbour Board"
    d.core_properties.created = EPOCH.replace(tzinfo=None)
    d.core_properties.modified = EPOCH.replace(tzinfo=None)
    d.core_properties.last_modified_by = ""
    d.add_heading("Keeper's Handbook", level=0)
    d.add_paragraph("This handbook tells a new keeper what the daily round of a light station involves.")
    d.add_heading("Daily duties", level=1)
    d.add_paragraph("At dusk the keeper lights the lamp and winds the clockwork that turns the lens.")
    d.add_paragraph("Trim the wicks every four hours.", style="List Bullet")
    d.add_paragraph("Polish the brass and the lantern glass each morning.", style="List Bullet")
    d.add_paragraph("Record the weather in the log at each watch.", style="List Bullet")
    d.add_heading("Fog routine", level=2)
    d.add_paragraph("When the fog comes in, start the fog signal:")
    d.add_paragraph("Open the air valve.", style="List Number")
    d.add_paragraph("Start the compressor.", style="List Number")
    d.add_paragraph("Sound two blasts every minute until the fog lifts.", style="List Number")
    d.add_heading("Supplies", level=1)
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Item", "Quantity", "Interval"], ["Paraffin", "40 gallons", "monthly"], ["Wicks", "12", "quarterly"]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_paragraph("The relief boat brings the supplies on the first calm day of the month.")
    d.save(path)
    fixed_zip_times(path)


def hostile_docx(path, document_xml):
    """A DOCX whose word/document.xml is `document_xml` (bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("[Content_Types].xml", date_time=(2024, 1, 2, 3, 4, 6))
        z.writestr(info, b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        info = zipfile.ZipInfo("word/document.xml", date_time=(2024, 1, 2, 3, 4, 6))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, document_xml)


W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def pptx_fixture(path):
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title = "Fog Signals"
    deck.core_properties.author = "Northern Harbour Board"
    deck.core_properties.created = EPOCH.replace(tzinfo=None)
    deck.core_properties.modified = EPOCH.replace(tzinfo=None)
    deck.core_properties.last_modified_by = ""
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "Fog Signals"
    slide.placeholders[1].text = "How the stations warned ships in thick weather"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "The diaphone"
    body = slide.placeholders[1].text_frame
    body.text = "A piston driven by compressed air"
    body.add_paragraph().text = "Two tones: a high blast and a low grunt"
    slide.notes_slide.notes_text_frame.text = "Mention that the North Reef diaphone was silenced in 2002."
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Signal characters"
    rows = [["Station", "Signal"], ["Skerry Point", "2 blasts every 60 s"], ["North Reef", "1 blast every 30 s"]]
    table = slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    deck.save(path)
    fixed_zip_times(path)


def xlsx_fixture(path):
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.title = "Station Register"
    book.properties.creator = "Northern Harbour Board"
    book.properties.created = EPOCH.replace(tzinfo=None)
    book.properties.modified = EPOCH.replace(tzinfo=None)
    sheet = book.active
    sheet.title = "Stations"
    sheet.append(["Station", "First lit", "Height (m)", "Automated"])
    sheet.append(["Skerry Point", 1852, 21, True])
    sheet.append(["North Reef", 1874, None, True])
    sheet.append(["Gull Island", 1901, 14.5, False])
    keepers = book.create_sheet("Keepers")
    keepers.append(["Name", "Station"])
    keepers.append(["Agnes Morrow", "Skerry Point"])
    keepers.append(["Thomas Reid", "North Reef"])
    book.save(path)
    fixed_zip_times(path)


ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
  office:version="1.3">
 <office:body>
  <office:text>
   <text:h text:outline-level="1">Relief Boats</text:h>
   <text:p>The relief boat called at each rock station once a fortnight.<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Weather permitting.</text:p></text:note-body></text:note></text:p>
   <text:h text:outline-level="2">What it carried</text:h>
   <text:list>
    <text:list-item><text:p>Fresh water and paraffin</text:p></text:list-item>
    <text:list-item><text:p>Letters and<text:s text:c="2"/>newspapers</text:p>
     <text:list><text:list-item><text:p>and the pay packets</text:p></text:list-item></text:list>
    </text:list-item>
   </text:list>
   <table:table table:name="Crews">
    <table:table-row><table:table-cell><text:p>Boat</text:p></table:table-cell><table:table-cell><text:p>Crew</text:p></table:table-cell></table:table-row>
    <table:table-row><table:table-cell><text:p>Pharos</text:p></table:table-cell><table:table-cell><text:p>5</text:p></table:table-cell></table:table-row>
   </table:table>
   <text:p>A keeper going ashore left on the same boat.<office:annotation><text:p>Check the dates.</text:p></office:annotation></text:p>
  </office:text>
 </office:body>
</office:document-content>
"""

ODT_META = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3">
 <office:meta><dc:title>Relief Boats</dc:title><meta:initial-creator>Harbour Office</meta:initial-creator></office:meta>
</office:document-meta>
"""

ODT_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def odt_fixture(path):
    """An ODT written by hand (the format is a ZIP of XML parts, the mimetype first and stored)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data, compress in [
            ("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED),
            ("content.xml", ODT_CONTENT, zipfile.ZIP_DEFLATED),
            ("meta.xml", ODT_META, zipfile.ZIP_DEFLATED),
            ("META-INF/manifest.xml", ODT_MANIFEST, zipfile.ZIP_DEFLATED),
        ]:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = compress
            z.writestr(info, data)


def epub_fixture(path):
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("quiver-fixture-lighthouse-tales")
    book.set_title("Tales of the Lights")
    book.set_language("en")
    book.add_author("Mary Gull")
    chapters = []
    for i, (title, body) in enumerate([
        ("The Storm of 1947", "<p>For seven weeks no boat could land at Skerry Point.</p><p>The keepers rationed the oatmeal.</p>"),
        ("The Lens", "<p>The great lens floated on a bath of mercury and turned once every twenty seconds.</p>"),
        ("Automation", "<p>The last keeper left in 1987 and the light now runs by itself.</p>"),
    ]):
        c = epub.EpubHtml(title=title, file_name=f"chap{i + 1}.xhtml", lang="en")
        c.content = f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
        book.add_item(c)
        chapters.append(c)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = chapters
    epub.write_epub(path, book)
    fixed_zip_times(path)


def office_fixtures():
    os.makedirs(OFFICE, exist_ok=True)
    docx_fixture(os.path.join(OFFICE, "handbook.docx"))
    pptx_fixture(os.path.join(OFFICE, "fog.pptx"))
    xlsx_fixture(os.path.join(OFFICE, "register.xlsx"))
    odt_fixture(os.path.join(OFFICE, "relief.odt"))
    epub_fixture(os.path.join(OFFICE, "tales.epub"))
    # 24 MiB of spaces in one paragraph: about 24 KiB compressed, a 1000:1 ratio.
    hostile_docx(os.path.join(OFFICE, "bomb.docx"),
                 b'<w:document ' + W + b'><w:body><w:p><w:r><w:t>' + b' ' * (24 << 20) + b'</w:t></w:r></w:p></w:body></w:document>')
    laughs = b'<!DOCTYPE w:document [<!ENTITY a "lol">' + b''.join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b'&' + bytes([97 + i]) + b';') * 10) for i in range(9)) + b']>'
    hostile_docx(os.path.join(OFFICE, "laughs.docx"),
                 b'<?xml version="1.0"?>' + laughs + b'<w:document ' + W + b'><w:body><w:p><w:r><w:t>&j;</w:t></w:r></w:p></w:body></w:document>')
    hostile_docx(os.path.join(OFFICE, "external-entity.docx"),
                 b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]><w:document ' + W
                 + b'><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>')
    hostile_docx(os.path.join(OFFICE, "malformed.docx"),
                 b'<w:document ' + W + b'><w:body><w:p><w:r><w:t>unclosed</w:body></w:document>')
    with open(os.path.join(OFFICE, "handbook.docx"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OFFICE, "truncated.docx"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    with open(os.path.join(OFFICE, "not-a-zip.docx"), "wb") as f:
        f.write(b"This is a plain text file with a .docx name.\n")


def sample_corpus():
    """The PDF and the DOCX of the sample corpus in data/ (the demo cites the PDF's page)."""
    write(report(), "harbour-light-survey.pdf", folder=os.path.join(DATA, "places"))
    docx_fixture(os.path.join(DATA, "keepers", "keepers-handbook.docx"))


def main():
    sample_corpus()
    office_fixtures()
    os.makedirs(FIXTURES, exist_ok=True)
    whole = write(report(), "report.pdf")
    write(columns(), "columns.pdf")
    write(unicode_text(), "unicode.pdf")
    write(scanned(), "scanned.pdf")
    # A password is needed to read it.
    write(encrypted("swordfish"), "encrypted.pdf")
    # Encrypted with an owner password only: the empty user password opens it.
    write(encrypted(""), "owner-only.pdf")
    # Cut in the middle: no cross-reference table, no trailer.
    with open(os.path.join(FIXTURES, "truncated.pdf"), "wb") as f:
        f.write(whole[: len(whole) // 3])
    # A PDF header, then bytes that are no PDF at all.
    with open(os.path.join(FIXTURES, "corrupt.pdf"), "wb") as f:
        f.write(b"%PDF-1.7\n" + bytes((i * 131 + 7) % 256 for i in range(2048)))
    print(f"wrote fixtures to {FIXTURES}", file=sys.stderr)


if __name__ == "__main__":
    main()
