"""The pages members and the board see: short, Norwegian (nynorsk for members who prefer it).

Nothing here names a member or an address: a link may be forwarded, and whoever opens it
sees only what the organisation and the meeting are.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import jinja2

TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "unsubscribe": "Meld deg av",
        "what": "Hva vil du ikke lenger få fra {org}?",
        "everything": "Alt fra oss, også møteinnkallinger du får på grunn av vervet ditt",
        "unsubscribe_button": "Meld meg av",
        "nothing_yet": "Ingenting skjer før du trykker på knappen.",
        "unsubscribed": "Du er meldt av",
        "no_more": "Du får ikke flere e-poster fra oss om {what}.",
        "no_more_at_all": "Du får ingen flere e-poster fra {org}.",
        "regret": "Var det en feil? Trykk på «Innstillinger for e-post» nederst i e-posten fra oss, så kan "
        "du få det igjen. Spørsmål? Skriv til {contact}.",
        "bad_link": "Lenken virker ikke",
        "bad_link_text": "Lenken er ufullstendig, endret eller for gammel. Bruk lenken i den nyeste e-posten "
        "fra oss, eller skriv til {contact}.",
        "not_found": "Vi finner deg ikke i medlemslisten",
        "not_found_text": "Du står ikke lenger i medlemslisten vår, og da sender vi deg ingen e-post. "
        "Har du spørsmål, skriv til {contact}.",
        "coming": "Kommer du?",
        "yes": "Ja, jeg kommer",
        "no": "Nei, jeg kommer ikke",
        "answered_yes": "Du har svart at du kommer.",
        "answered_no": "Du har svart at du ikke kommer.",
        "answer_on_click": "Svaret ditt blir registrert når du trykker på knappen.",
        "thanks_yes": "Takk! Vi har notert at du kommer.",
        "thanks_no": "Takk for at du sa fra. Vi har notert at du ikke kommer.",
        "changed_mind": "Har du ombestemt deg?",
        "meeting_over": "Møtet er over",
        "meeting_cancelled": "Møtet er avlyst",
        "closed_text": "Det er ikke lenger mulig å svare på denne invitasjonen.",
        "newsletter": "nyhetsbrevet",
        "other_newsletter": "e-poster merket «{name}»",
        "invitations": "invitasjoner til {title}",
        "consultations": "høringer (spørsmål til lokallagene om innspill)",
        "something_else": "Velg noe annet",
    },
    "nn": {
        "unsubscribe": "Meld deg av",
        "what": "Kva vil du ikkje lenger få frå {org}?",
        "everything": "Alt frå oss, også møteinnkallingar du får på grunn av vervet ditt",
        "unsubscribe_button": "Meld meg av",
        "nothing_yet": "Ingenting skjer før du trykkjer på knappen.",
        "unsubscribed": "Du er meld av",
        "no_more": "Du får ikkje fleire e-postar frå oss om {what}.",
        "no_more_at_all": "Du får ingen fleire e-postar frå {org}.",
        "regret": "Var det ein feil? Trykk på «Innstillingar for e-post» nedst i e-posten frå oss, så kan "
        "du få det att. Spørsmål? Skriv til {contact}.",
        "bad_link": "Lenkja verkar ikkje",
        "bad_link_text": "Lenkja er ufullstendig, endra eller for gammal. Bruk lenkja i den nyaste e-posten "
        "frå oss, eller skriv til {contact}.",
        "not_found": "Vi finn deg ikkje i medlemslista",
        "not_found_text": "Du står ikkje lenger i medlemslista vår, og då sender vi deg ingen e-post. "
        "Har du spørsmål, skriv til {contact}.",
        "coming": "Kjem du?",
        "yes": "Ja, eg kjem",
        "no": "Nei, eg kjem ikkje",
        "answered_yes": "Du har svart at du kjem.",
        "answered_no": "Du har svart at du ikkje kjem.",
        "answer_on_click": "Svaret ditt blir registrert når du trykkjer på knappen.",
        "thanks_yes": "Takk! Vi har notert at du kjem.",
        "thanks_no": "Takk for at du sa frå. Vi har notert at du ikkje kjem.",
        "changed_mind": "Har du ombestemt deg?",
        "meeting_over": "Møtet er over",
        "meeting_cancelled": "Møtet er avlyst",
        "closed_text": "Det er ikkje lenger mogleg å svare på denne invitasjonen.",
        "newsletter": "nyhendebrevet",
        "other_newsletter": "e-postar merka «{name}»",
        "invitations": "invitasjonar til {title}",
        "consultations": "høyringar (spørsmål til lokallaga om innspel)",
        "something_else": "Vel noko anna",
    },
}

MEMBER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
BOARD_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)
PREVIEW_CSP = (
    "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:; "
    "frame-ancestors 'self'; base-uri 'none'"
)

_TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{{ title }} – {{ org }}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;background:#f2f4f0;
color:#1f2a1f;line-height:1.5;font-size:17px}
header{background:#00843d;color:#fff;padding:14px 20px;font-weight:bold;font-size:19px}
main{max-width:560px;margin:0 auto;padding:8px 20px 32px}
h1{font-size:24px;line-height:1.25}
button{background:#00843d;color:#fff;border:0;border-radius:6px;padding:12px 20px;font-size:17px;
cursor:pointer;margin:6px 8px 6px 0}
button.secondary{background:#6b6b6b}
fieldset{border:0;padding:0;margin:0 0 12px}
label{display:block;margin:10px 0}
summary{margin:10px 0;cursor:pointer;color:#00843d}
.note{color:#555;font-size:15px}
</style></head>
<body><header>{{ org }}</header><main>{% block main %}{% endblock %}</main></body></html>""",
    "message.html": """{% extends "base.html" %}{% block main %}<h1>{{ title }}</h1>
{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}{% endblock %}""",
    "unsubscribe.html": """{% extends "base.html" %}{% block main %}<h1>{{ t.unsubscribe }}</h1>
<form method="post"><fieldset><legend>{{ t.what.format(org=org) }}</legend>
{% for value, label in choices %}<label><input type="radio" name="scope" value="{{ value }}"
{%- if loop.first %} checked{% endif %}> {{ label }}</label>
{% endfor %}{% if others %}<details><summary>{{ t.something_else }}</summary>
{% for value, label in others %}<label><input type="radio" name="scope" value="{{ value }}">
{{ label }}</label>
{% endfor %}</details>{% endif %}</fieldset>
<button type="submit">{{ t.unsubscribe_button }}</button></form>
<p class="note">{{ t.nothing_yet }}</p>{% endblock %}""",
    "rsvp.html": """{% extends "base.html" %}{% block main %}<h1>{{ meeting }}</h1>
<p>{{ when }}</p>
{% if answered %}<p><strong>{{ t["answered_" + answered] }}</strong></p>{% endif %}
<p>{{ t.coming }}</p>
<form method="post" action="{{ answer }}"><button type="submit"
{%- if answer == "no" %} class="secondary"{% endif %}>{{ t[answer] }}</button></form>
<p class="note">{{ t.answer_on_click }}</p>{% endblock %}""",
    "rsvp_done.html": """{% extends "base.html" %}{% block main %}<h1>{{ meeting }}</h1>
<p>{{ when }}</p><p><strong>{{ t["thanks_" + answer] }}</strong></p>
<p>{{ t.changed_mind }}</p>
<form method="post" action="{{ other }}">
<button type="submit" class="secondary">{{ t[other] }}</button></form>
{% endblock %}""",
    "board_base.html": """<!doctype html>
<html lang="nb"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{ title }} – {{ org }}</title>
<link rel="stylesheet" href="/static/board.css"></head>
<body><header><nav><a href="/board">{{ org }}: utsendinger</a> · <a href="/board/h">høringer</a>
· <a href="/board/p">arrangementer</a> · <a href="/board/rapporter">rapporter</a></nav>
<span>Innlogget som {{ user }}</span></header>
<main>{% block main %}{% endblock %}</main><script src="/static/board.js"></script></body></html>""",
    "board_list.html": """{% extends "board_base.html" %}{% block main %}<h1>{{ title }}</h1>
<p>Det som skal sendes de neste {{ days }} dagene. Et nyhetsbrev sendes først når det er godkjent
av nok styremedlemmer; godkjenningen gjelder nøyaktig innholdet med fingeravtrykket som står der.</p>
{% if problems %}<div class="notice"><p>Disse utkastene har en feil og står ikke i listen før den er
rettet:</p><ul>{% for problem in problems %}<li>{{ problem }}</li>{% endfor %}</ul></div>{% endif %}
<table><thead><tr><th>Sendes</th><th>Utsending</th><th>Type</th><th>Mottakere</th><th>Status</th>
<th>Godkjenning</th></tr></thead><tbody>
{% for row in rows %}<tr{% if row.overdue %} class="overdue"{% endif %}>
<td>{{ row.send_at }}</td><td><a href="/board/m/{{ row.id }}">{{ row.id }}</a></td><td>{{ row.kind }}</td>
<td>{{ row.audience }} ({{ row.recipients }})</td><td>{{ row.state }}</td>
<td>{% if row.problem %}kan ikke vises før feilen er rettet: {{ row.problem }}
{%- elif row.fingerprint %}{{ row.approvals }} av {{ row.required }}
<br><code>{{ row.fingerprint }}</code>{% else %}–{% endif %}</td></tr>
{% else %}<tr><td colspan="6">Ingenting skal sendes de neste {{ days }} dagene.</td></tr>{% endfor %}
</tbody></table>{% endblock %}""",
    "board_preview.html": """{% extends "board_base.html" %}{% block main %}<h1>{{ mailing_id }}</h1>
<dl><dt>Emne</dt><dd>{{ subject }}</dd><dt>Type</dt><dd>{{ kind }}</dd>
<dt>Sendes</dt><dd>{{ send_at }} til {{ audience }}</dd>
<dt>Fingeravtrykk</dt><dd><code>{{ fingerprint }}</code></dd>
{% if required %}<dt>Godkjent</dt><dd>{{ approvers|length }} av {{ required }}
{%- if approvers %} ({{ approvers|join(", ") }}){% endif %}
{%- if approvers|length >= required %}: klar til sending{% endif %}</dd>{% endif %}</dl>
{% if message %}<p class="notice">{{ message }}</p>{% endif %}
{% if required and user not in approvers %}
<form method="post" action="/board/approve/{{ mailing_id }}">
<input type="hidden" name="fingerprint" value="{{ fingerprint }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit">Godkjenn innholdet med fingeravtrykk {{ fingerprint }}</button></form>
{% endif %}
<p>Slik får medlemmer som vil ha {{ "nynorsk" if lang == "nn" else "bokmål" }} utsendingen
(vist for et eksempelmedlem, ikke en ekte mottaker).
<a href="?lang={{ "nb" if lang == "nn" else "nn" }}">Vis {{ "bokmål" if lang == "nn" else "nynorsk" }}</a></p>
<div class="frames">
{% for width, label in [(1200, "PC, 1200 px"), (375, "Mobil, 375 px")] %}
<figure><figcaption>{{ label }} <span class="overflow-warning">bredere enn skjermen!</span></figcaption>
<iframe class="preview" title="{{ label }}" src="/board/html/{{ lang }}/{{ mailing_id }}?fp={{ fingerprint }}"
width="{{ width }}" height="900"
sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"></iframe></figure>
{% endfor %}</div>
<h2>Ren tekst</h2><pre>{{ text }}</pre>{% endblock %}""",
}


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


def texts(lang: str) -> dict[str, str]:
    return TEXTS.get(lang, TEXTS["nb"])


def render(name: str, **context: Any) -> str:
    lang = context.setdefault("lang", "nb")
    context.setdefault("t", texts(lang))
    return _env().get_template(name).render(**context)


def message(lang: str, org: str, title: str, *paragraphs: str) -> str:
    return render("message.html", lang=lang, org=org, title=title, paragraphs=paragraphs)


def too_many(org: str) -> str:
    return message("nb", org, "For mange forespørsler", "Vent litt, og prøv igjen om et minutt.")


def locked_out(org: str, seconds: float) -> str:
    """The board's login page after too many wrong passwords, saying how long the wait is."""
    minutes = max(1, math.ceil(seconds / 60))
    when = "om et minutt" if minutes == 1 else f"om {minutes} minutter"
    text = f"Det er prøvd for mange feil passord herfra. Vent, og prøv igjen {when}."
    return message("nb", org, "For mange forsøk", text)
