"""Invented members for the example project, the tests and the benchmark (no real person's data).

    python bench/fake_members.py OUT.csv [--count N] [--seed S] [--excel]

`--excel` writes the file as Excel saves it on a Norwegian machine: `;`, Windows-1252,
Norwegian headers and dates as 14.03.2026. Addresses are on the reserved example.org
and example.net domains.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import unicodedata
from pathlib import Path

FIRST = [
    "Åse",
    "Øystein",
    "Bjørn",
    "Håkon",
    "Kåre",
    "Gro",
    "Ingrid",
    "Solveig",
    "Åsmund",
    "Bjørg",
    "Bjørnar",
    "Børge",
    "Dagfinn",
    "Eirik",
    "Frøydis",
    "Gunnhild",
    "Halvard",
    "Jørgen",
    "Jørn",
    "Kjersti",
    "Lars",
    "Marit",
    "Målfrid",
    "Nils",
    "Ragnhild",
    "Solvår",
    "Torbjørn",
    "Trond",
    "Ørjan",
    "Øyvind",
    "Åshild",
    "Astrid",
    "Liv",
    "Sindre",
    "Ida",
    "Emma",
    "Nora",
    "Jonas",
    "Aksel",
    "Mathias",
    "Sofie",
    "Ingeborg",
    "Signe",
    "Terje",
    "Ove",
    "Tone",
    "Randi",
    "Guro",
    "Sigrid",
    "Embla",
    "Håvard",
    "Ståle",
    "Geir",
    "Siri",
    "Hege",
    "Therese",
    "Anders",
    "Knut",
    "Mette",
    "Jens",
    "Synnøve",
    "Gudrun",
    "Tormod",
    "Vebjørn",
    "Aslaug",
    "Ånund",
    "Særen",
    "Ælin",
]
LAST = [
    "Ødegård",
    "Bråten",
    "Sæther",
    "Løkken",
    "Haugland",
    "Bøe",
    "Strøm",
    "Kvåle",
    "Fjære",
    "Grønli",
    "Sørensen",
    "Nilsen",
    "Hansen",
    "Johansen",
    "Berg",
    "Dahl",
    "Lie",
    "Moe",
    "Bakken",
    "Aas",
    "Holm",
    "Solberg",
    "Rønning",
    "Næss",
    "Sæbø",
    "Hoff",
    "Kjærnes",
    "Øverby",
    "Ås",
    "Brøther",
    "Vårdal",
    "Myhre",
    "Østby",
    "Thorsen",
    "Gjærder",
    "Lunde",
    "Haugen",
    "Engen",
    "Tangen",
    "Rød",
    "Nygård",
    "Skjærvø",
    "Bjørnstad",
    "Fosså",
]
MUNICIPALITIES = {
    "Eidsvoll": 30,
    "Gjerdrum": 12,
    "Hurdal": 8,
    "Nannestad": 20,
    "Nes": 28,
    "Ullensaker": 26,
    "Lunner": 10,
    "Jevnaker": 8,
    "Lillestrøm": 30,
    "Lørenskog": 14,
    "Rælingen": 10,
    "Nittedal": 12,
    "Aurskog-Høland": 26,
    "Nordre Follo": 18,
    "Ås": 16,
    "Frogn": 10,
    "Nesodden": 10,
    "Vestby": 14,
    "Enebakk": 12,
    "Asker": 18,
    "Bærum": 22,
}
HEADER_EN = [
    "id",
    "first_name",
    "last_name",
    "email",
    "municipality",
    "chapter",
    "roles",
    "joined",
    "language",
    "phone",
]
HEADER_NO = [
    "Medlemsnummer",
    "Fornavn",
    "Etternavn",
    "E-post",
    "Kommune",
    "Lokallag",
    "Verv",
    "Innmeldt",
    "Målform",
    "Telefon",
]


def _ascii(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "aa")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def members(
    count: int, seed: int, today: dt.date, first_id: int = 10001, newcomers: bool = False
) -> list[dict[str, str]]:
    """`count` invented members spread over Akershus, a few offices in each municipality.

    `newcomers`: all joined in the last four months and hold no office yet.
    """
    rng = random.Random(seed)
    names = list(MUNICIPALITIES)
    weights = list(MUNICIPALITIES.values())
    leaders: set[str] = set(names) if newcomers else set()
    out: list[dict[str, str]] = []
    county_roles = (
        ["fylkesstyremedlem"] * 7
        + ["stortingsrepresentant"] * 2
        + ["fylkestingsrepresentant"] * 5
        + ["gruppeleder fylkesting"]
    )
    for i in range(count):
        municipality = rng.choices(names, weights)[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        roles = ["medlem"]
        if municipality not in leaders:
            leaders.add(municipality)
            roles += ["lokallagsleder", "tillitsvalgt"]
        elif newcomers:
            roles += ["Senterungdommen"] if rng.random() < 0.2 else []
        elif i < len(county_roles) * 3 and i % 3 == 0:
            roles += [
                county_roles[i // 3],
                "folkevalgt" if "representant" in county_roles[i // 3] else "tillitsvalgt",
            ]
        else:
            r = rng.random()
            if r < 0.05:
                roles += ["ordfører", "folkevalgt"]
            elif r < 0.10:
                roles += ["varaordfører", "folkevalgt"]
            elif r < 0.18:
                roles += ["gruppeleder", "folkevalgt"]
            elif r < 0.35:
                roles += ["tillitsvalgt"]
            elif r < 0.45:
                roles += ["folkevalgt"]
            extra = rng.random()
            if extra < 0.04:
                roles.append("studieleder")
            elif extra < 0.08:
                roles.append("senterkvinnekontakt")
            elif extra < 0.12:
                roles.append("Senterungdommen")
            elif extra < 0.16:
                roles.append("Senterkvinnene")
            elif extra < 0.17:
                roles.append("KS-medlem")
        spans = [(0, 30), (31, 183), (184, 9000), (184, 9000), (184, 9000)]
        age_days = rng.randint(0, 120) if newcomers else rng.randint(*rng.choice(spans))
        member_id = str(first_id + i)
        domain = "example.org" if i % 3 else "example.net"
        out.append(
            {
                "id": member_id,
                "first_name": first,
                "last_name": last,
                "email": f"{_ascii(first)}.{_ascii(last)}.{member_id}@{domain}",
                "municipality": municipality,
                "chapter": f"{municipality} Senterparti",
                "roles": ", ".join(roles),
                "joined": (today - dt.timedelta(days=age_days)).isoformat(),
                "language": "nn" if rng.random() < 0.12 else "nb",
                "phone": f"4{rng.randint(1000000, 9999999)}",
            }
        )
    return out


def write(path: Path, rows: list[dict[str, str]], excel: bool = False) -> None:
    buf = io.StringIO(newline="")
    if excel:
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER_NO)
        for r in rows:
            joined = dt.date.fromisoformat(r["joined"]).strftime("%d.%m.%Y")
            writer.writerow(
                [
                    r["id"],
                    r["first_name"],
                    r["last_name"],
                    r["email"],
                    r["municipality"],
                    r["chapter"],
                    r["roles"].replace(", ", "; "),
                    joined,
                    r["language"],
                    r["phone"],
                ]
            )
        path.write_bytes(buf.getvalue().encode("cp1252"))
    else:
        writer = csv.DictWriter(buf, HEADER_EN, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--first-id", type=int, default=10001)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--excel", action="store_true")
    parser.add_argument("--newcomers", action="store_true", help="recent members without offices")
    args = parser.parse_args()
    rows = members(args.count, args.seed, args.today, args.first_id, args.newcomers)
    write(args.out, rows, args.excel)


if __name__ == "__main__":
    main()
