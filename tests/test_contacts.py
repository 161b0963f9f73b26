"""Contacts: one by one, CSV import (all or nothing, every bad line reported) and export."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from alliances import services
from alliances.models import Contact, ContactFunction, Side
from tests.factories import ContactFactory


def url(alliance, suffix="", org="northwind"):
    return f"/o/{org}/alliances/{alliance.pk}/contacts/{suffix}"


def upload(client, alliance, data: bytes, org="northwind", name="contacts.csv"):
    return client.post(
        url(alliance, "import/", org), {"file": SimpleUploadedFile(name, data, "text/csv")}
    )


def contact_count(alliance):
    return Contact.objects.filter(alliance=alliance).count()


# --- one by one ----------------------------------------------------------------------------


def test_add_a_contact_of_ones_own_side(world, client_for):
    client = client_for(world.dan)
    assert client.get(url(world.shared, "new/")).status_code == 200
    response = client.post(
        url(world.shared, "new/"),
        {"name": "Grace Hopper", "email": " Grace@Northwind.Example ", "function": "sales",
         "title": "VP Sales", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    contact = Contact.objects.get(alliance=world.shared, name="Grace Hopper")
    assert contact.side == Side.LEAD
    assert contact.email == "grace@northwind.example"
    assert contact.function == ContactFunction.SALES
    page = client.get(url(world.shared)).content.decode()
    assert "Grace Hopper" in page


def test_the_partner_adds_contacts_to_its_own_side(world, client_for):
    response = client_for(world.ben).post(
        url(world.shared, "new/", org="contoso"),
        {"name": "Paul Partner", "email": "paul@contoso.example", "function": "product"},
    )
    assert response.status_code == 302
    assert Contact.objects.get(email="paul@contoso.example").side == Side.PARTNER


def test_a_duplicate_email_is_refused_whatever_its_case(world, client_for):
    ContactFactory(alliance=world.shared, side=Side.PARTNER, email="kim@contoso.example")
    before = contact_count(world.shared)
    response = client_for(world.ada).post(
        url(world.shared, "new/"),
        {"name": "Kim Again", "email": "KIM@Contoso.example", "function": "other"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "already has a contact with this email" in page
    assert 'id="id_email_error"' in page  # on the email field, not only at the top
    assert contact_count(world.shared) == before


def test_the_same_email_may_be_a_contact_of_another_alliance(world, client_for):
    ContactFactory(alliance=world.litware, email="kim@example.com")
    response = client_for(world.ada).post(
        url(world.shared, "new/"), {"name": "Kim", "email": "kim@example.com", "function": "other"}
    )
    assert response.status_code == 302


def test_invalid_input_gives_field_errors(world, client_for):
    client = client_for(world.ada)
    before = contact_count(world.shared)
    response = client.post(
        url(world.shared, "new/"), {"name": "", "email": "not-an-email", "function": "wizard"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert 'id="id_name_error"' in page and 'id="id_function_error"' in page
    response = client.post(
        url(world.shared, "new/"), {"name": "x" * 5000, "email": "a@b.example" * 100}
    )
    assert response.status_code == 400
    assert contact_count(world.shared) == before


def test_editing_a_contact_keeps_its_own_email_and_sides_stay_apart(world, client_for):
    mine = ContactFactory(alliance=world.shared, side=Side.LEAD, email="mine@northwind.example")
    theirs = Contact.objects.get(alliance=world.shared, side=Side.PARTNER)
    client = client_for(world.ada)
    response = client.post(
        url(world.shared, f"{mine.pk}/"),
        {"name": "Renamed", "email": "MINE@northwind.example", "function": "support"},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.name == "Renamed" and mine.function == ContactFunction.SUPPORT
    response = client.post(
        url(world.shared, f"{theirs.pk}/"),
        {"name": "Hijack", "email": theirs.email, "function": "other"},
    )
    assert response.status_code == 403
    other = Contact.objects.filter(alliance=world.fabrikam_alliance).first()
    assert client.get(url(world.shared, f"{other.pk}/")).status_code == 404


def test_viewers_cannot_add_contacts(world, client_for):
    response = client_for(world.vic).post(
        url(world.shared, "new/"), {"name": "V", "email": "v@example.com", "function": "other"}
    )
    assert response.status_code == 403


# --- CSV import ----------------------------------------------------------------------------


def test_import_creates_every_contact_of_a_valid_file(world, client_for):
    before = contact_count(world.shared)
    data = (
        "\ufeffName,Email,Function\r\n"
        "Ann Archer,ann@northwind.example,Executive sponsor\r\n"
        "\r\n"
        "Bob Baker, BOB@northwind.example ,sales\r\n"
        "  ,  ,  \r\n"
        "Cat Cole,cat@northwind.example,ENGINEERING / DELIVERY\r\n"
        "Dee Dunn,dee@northwind.example,\r\n"
        '"Eve, Jr.",eve@northwind.example,legal_finance\r\n'
        "\r\n"
    ).encode()
    client = client_for(world.dan)
    assert client.get(url(world.shared, "import/")).status_code == 200
    response = upload(client, world.shared, data)
    assert response.status_code == 302
    assert contact_count(world.shared) == before + 5
    imported = {
        c.email: c
        for c in Contact.objects.filter(alliance=world.shared, email__endswith="@northwind.example")
    }
    assert imported["ann@northwind.example"].function == ContactFunction.EXECUTIVE_SPONSOR
    assert imported["ann@northwind.example"].name == "Ann Archer"
    assert imported["bob@northwind.example"].function == ContactFunction.SALES
    assert imported["cat@northwind.example"].function == ContactFunction.DELIVERY
    assert imported["dee@northwind.example"].function == ContactFunction.OTHER
    assert imported["eve@northwind.example"].name == "Eve, Jr."
    assert {c.side for c in imported.values()} == {Side.LEAD}


def test_the_partner_imports_contacts_of_its_own_side(world, client_for):
    data = b"name,email\nPia,pia@contoso.example\n"
    response = upload(client_for(world.ben), world.shared, data, org="contoso")
    assert response.status_code == 302
    assert Contact.objects.get(email="pia@contoso.example").side == Side.PARTNER


def test_import_reports_every_bad_line_and_imports_nothing(world, client_for):
    existing = ContactFactory(alliance=world.shared, email="old@northwind.example")
    before = contact_count(world.shared)
    data = (
        b"name,email,function\n"  # line 1
        b"Good One,good1@northwind.example,sales\n"  # 2: fine
        b"Bad Mail,not-an-email,sales\n"  # 3
        b",noname@northwind.example,sales\n"  # 4
        b"Wizard,wiz@northwind.example,wizardry\n"  # 5
        b"Good Two,good2@northwind.example,marketing\n"  # 6: fine
        b"Twin,GOOD1@northwind.example,sales\n"  # 7: duplicate of line 2
        b"Old,OLD@northwind.example,other\n"  # 8: already a contact
        b"Wide,wide@northwind.example,sales,extra\n"  # 9: too many columns
        b"NoMail,,sales\n"  # 10
    )
    response = upload(client_for(world.ada), world.shared, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    expected = {
        3: "not-an-email",
        4: "the name is empty",
        5: "unknown function",
        7: "also appears on line 2",
        8: f"{existing.email} is already a contact",
        9: "4 values but the header has 3",
        10: "no email",
    }
    for line, reason in expected.items():
        assert f"Line {line}:" in page, line
        start = page.index(f"Line {line}:")
        assert reason in page[start : page.index("</li>", start)], (line, reason)
    for good in (2, 6):
        assert f"Line {good}:" not in page
    assert contact_count(world.shared) == before
    assert not Contact.objects.filter(email__startswith="good").exists()


def test_import_service_is_all_or_nothing(world):
    before = contact_count(world.litware)
    result = services.contacts_import_csv(
        alliance=world.litware,
        side=Side.LEAD,
        data=b"name,email\nA,a@example.com\nB,b@example.com\nC,broken\n",
    )
    assert result.created == []
    assert result.errors == ["Line 4: “broken” is not a valid email address."]
    assert contact_count(world.litware) == before


def test_import_needs_the_header_columns(world, client_for):
    response = upload(client_for(world.ada), world.shared, b"full name,mail\nAnn,ann@example.com\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 1:" in page and "missing: name, email" in page
    # Without a header the first contact is taken for one, and named as the problem.
    response = upload(client_for(world.ada), world.shared, b"Ann,ann@example.com\n")
    assert response.status_code == 400
    assert "Line 1:" in response.content.decode()


def test_import_of_an_empty_file_is_explained(world, client_for):
    before = contact_count(world.shared)
    client = client_for(world.ada)
    for data, message in (
        (b"", "The submitted file is empty."),
        (b"\n\n", "The file is empty."),
        (b"name,email,function\n\n", "The file has a header but no contacts."),
    ):
        response = upload(client, world.shared, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    # A browser always sends the CSRF token, so a submit without a file is a bound form.
    response = client.post(url(world.shared, "import/"), {"csrfmiddlewaretoken": "x"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert contact_count(world.shared) == before


def test_import_of_a_file_that_is_not_utf8_is_explained(world, client_for):
    data = "name,email\nJosé Núñez,jose@example.com\n".encode("latin-1")
    response = upload(client_for(world.ada), world.shared, data)
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert not Contact.objects.filter(email="jose@example.com").exists()


def test_import_of_a_file_over_1_mb_is_refused(world, client_for):
    row = b"Someone,someone@example.com,sales\n"
    data = b"name,email,function\n" + row * (1024 * 1024 // len(row) + 1)
    assert len(data) > 1024 * 1024
    before = contact_count(world.shared)
    response = upload(client_for(world.ada), world.shared, data)
    assert response.status_code == 400
    assert "larger than 1 MB" in response.content.decode()
    assert contact_count(world.shared) == before


def test_import_of_malformed_csv_is_a_line_error_not_a_crash(world, client_for):
    client = client_for(world.ada)
    before = contact_count(world.shared)
    huge_field = b"name,email\n" + b"x" * 200_000 + b",big@example.com\n"
    stray_cr = b"name,email\nAnn\rArcher,ann@example.com\n"
    nul = b"name,email\nA\x00nn,ann@example.com\n"
    for data in (huge_field, stray_cr, nul, b"\x00\x00\x00", b'name,email\n"unclosed,x@y.z\n'):
        response = upload(client, world.shared, data)
        assert response.status_code == 400, data[:40]
        assert "Line " in response.content.decode() or "file" in response.content.decode()
    response = upload(client, world.shared, huge_field)
    assert "Line 2:" in response.content.decode()
    # Valid by the email grammar, but longer than the column: a line error, not a crash.
    long_email = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"
    response = upload(client, world.shared, f"name,email\nLong,{long_email}\n".encode())
    assert response.status_code == 400
    assert "Line 2: the email address is longer than 254 characters" in response.content.decode()
    # A quoted value may span lines; later lines keep their own numbers.
    data = b'name,email\n"Ann\nArcher",ann@example.com\nBad,bad\n'
    response = upload(client, world.shared, data)
    assert "Line 4:" in response.content.decode()
    assert contact_count(world.shared) == before


def test_import_by_a_viewer_or_outsider_is_refused(world, client_for):
    data = b"name,email\nV,v@example.com\n"
    assert upload(client_for(world.vic), world.shared, data).status_code == 403
    assert upload(client_for(world.cy), world.shared, data, org="fabrikam").status_code == 404
    assert not Contact.objects.filter(email="v@example.com").exists()


# --- export --------------------------------------------------------------------------------


def test_export_is_formula_safe_and_keeps_each_sides_contacts(world, client_for):
    ContactFactory(
        alliance=world.shared,
        side=Side.LEAD,
        name='=HYPERLINK("http://evil.example","click")',
        email="formula@northwind.example",
    )
    ContactFactory(alliance=world.shared, side=Side.LEAD, name="+SUM(A1)", email="p@n.example")
    ContactFactory(alliance=world.shared, side=Side.LEAD, name="Plain Name", email="q@n.example")
    response = client_for(world.ada).get(url(world.shared, "export.csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["name", "email", "function", "side", "active"]
    names = {row[0] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil.example","click")' in names
    assert "'+SUM(A1)" in names
    assert "Plain Name" in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)
    assert "Contoso Sponsor" in names  # both sides' contacts are shared records


def test_export_of_another_tenants_alliance_is_404(world, client_for):
    response = client_for(world.cy).get(
        f"/o/fabrikam/alliances/{world.shared.pk}/contacts/export.csv"
    )
    assert response.status_code == 404
