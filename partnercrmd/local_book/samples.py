"""Sample contacts for the embedded default book, so a first `Search` finds someone at once."""

from __future__ import annotations

from ..model import Contact, Phone, PhoneKind


def sample_contacts() -> list[Contact]:
    return [
        Contact(
            display_name="Chris Huffman",
            first_name="Chris",
            last_name="Huffman",
            company="Huffman Logistics",
            job_title="Operations Manager",
            phones=[Phone("571-441-5956", PhoneKind.BUSINESS), Phone("+1 571 441 5957", PhoneKind.MOBILE)],
            emails=["chris.huffman@example.com"],
            notes="Sample contact: call to see caller preview.",
        ),
        Contact(
            display_name="Seb Test",
            first_name="Seb",
            last_name="Test",
            company="Example Telecom",
            phones=[Phone("858-283-4891", PhoneKind.BUSINESS)],
            emails=["seb.test@example.net"],
        ),
        Contact(
            display_name="Alice Hartley",
            first_name="Alice",
            last_name="Hartley",
            company="Hartley & Sons",
            job_title="Director",
            phones=[Phone("+44 20 7946 0958", PhoneKind.BUSINESS)],
            emails=["alice@hartley.example.co.uk"],
            address="1 Example Street, London",
        ),
        Contact(
            display_name="Bob Martin",
            first_name="Bob",
            last_name="Martin",
            company="Empire Consulting",
            phones=[Phone("+1 212-736-5000", PhoneKind.BUSINESS)],
            emails=["bob.martin@example.org"],
        ),
        Contact(
            display_name="Claire Dubois",
            first_name="Claire",
            last_name="Dubois",
            company="Société Exemple",
            phones=[Phone("+33 1 42 68 53 00", PhoneKind.BUSINESS)],
            emails=["claire.dubois@example.fr"],
        ),
    ]
