"""The preference page's words (bokmål and nynorsk) and its HTML: plain forms, no JavaScript.

The page names no one: not the member, and their address only masked (`ka…@example.org`),
since a link may be forwarded. Each form carries the CSRF value tied to the link.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from mailer.web import pages

TEXTS = {
    "nb": {
        "title": "Innstillinger for e-post",
        "intro": "Her velger du hva {org} sender til {address}.",
        "what": "Dette vil jeg ha",
        "since": "Du meldte deg av {when}.",
        "everything_off": "Du har meldt deg av all e-post fra oss ({when}). "
        "Kryss av for det du vil ha igjen.",
        "bounced": "E-post til adressen din har kommet i retur, så vi sender ikke lenger. Er adressen feil, "
        "skriv det under «Noe feil?».",
        "waiting": "Venter på at du bekrefter i e-posten vi sendte (innen {when}).",
        "required": "Følger vervet ditt: du får dette {reason}. Det kan ikke slås av her.",
        "required_off": "Hører til vervet ditt ({reason}), men du har meldt deg av.",
        "back_note": "Slår du på noe du har meldt deg av, sender vi først en e-post til adressen din. "
        "Det gjelder når du trykker på lenken i den (innen 48 timer).",
        "language": "Målform",
        "nb": "Bokmål",
        "nn": "Nynorsk",
        "save": "Lagre",
        "pause": "Ta en pause",
        "pause_text": "Pause fra alt som ikke hører til vervet ditt. Pausen slutter av seg selv.",
        "months": "{n} måned|{n} måneder",
        "pause_button": "Ta pause",
        "paused": "Du har pause fra alt som ikke hører til vervet ditt. Du får det igjen fra {when}.",
        "resume": "Avslutt pausen nå",
        "data": "Dine data",
        "data_text": "Vi sender en fil med alt vi har lagret om deg til e-postadressen din. Filen vises "
        "ikke her. Du kan be om den én gang i døgnet.",
        "data_button": "Last ned mine data",
        "wrong": "Noe feil?",
        "wrong_text": "Er navnet, adressen eller noe annet feil? Skriv det her, så får fylkessekretæren "
        "beskjed. Vi endrer ikke medlemsregisteret herfra: sekretæren retter det i registeret.",
        "wrong_button": "Send til sekretæren",
        "saved": "Lagret.",
        "saved_off": "Du får ikke lenger: {what}.",
        "saved_back": "Vi har sendt en e-post til adressen din. "
        "Trykk på knappen i den for å få {what} igjen.",
        "saved_language": "Heretter skriver vi til deg på {language}.",
        "confirmations_used": "Vi har allerede sendt deg flere e-poster om dette i dag. Se i innboksen, "
        "eller prøv igjen etter {when}.",
        "paused_now": "Pausen er registrert. Du får e-post fra oss igjen fra {when}.",
        "resumed": "Pausen er over. Du får e-post fra oss som før.",
        "not_paused": "Du hadde ingen pause.",
        "data_sent": "Vi har sendt dataene dine til e-postadressen din.",
        "data_later": "Du har allerede fått dataene dine det siste døgnet. "
        "Neste gang kan du be om dem {when}.",
        "report_sent": "Takk! Fylkessekretæren har fått beskjed.",
        "report_later": "Du har sendt flere meldinger i dag. Prøv igjen {when}.",
        "unknown": "Skjemaet nevnte noe som ikke finnes på siden. Last siden på nytt og prøv igjen.",
        "required_refused": "{what} følger vervet ditt og kan ikke slås av her. Ingenting er endret.",
        "bounced_refused": "E-post til adressen din kom i retur. "
        "Skriv under «Noe feil?» om adressen er feil.",
        "language_refused": "Velg bokmål eller nynorsk.",
        "months_refused": "Velg 1, 3 eller 6 måneder.",
        "report_empty": "Skriv hva som er feil før du sender.",
        "report_long": "Meldingen er for lang. Skriv kortere (høyst 1000 tegn).",
        "action_refused": "Skjemaet kom ikke fra denne siden. Last siden på nytt og prøv igjen.",
        "forged": "Skjemaet kom ikke fra denne siden. Åpne lenken i e-posten på nytt og prøv igjen.",
        "too_large": "Det du sendte er for stort. Skriv kortere og prøv igjen.",
        "confirm_title": "Vil du få dette igjen?",
        "confirm_text": "Du får {what} fra {org} igjen når du trykker på knappen.",
        "confirm_button": "Ja, send meg dette igjen",
        "confirmed": "Velkommen tilbake",
        "confirmed_text": "Du får {what} fra oss igjen fra neste utsending.",
        "already": "Lenken er allerede brukt",
        "already_text": "Denne bekreftelsen er allerede registrert. Du kan se valgene dine på siden "
        "«Innstillinger for e-post».",
        "expired": "Lenken er for gammel",
        "expired_text": "Bekreftelsen må skje innen 48 timer. Be om det på nytt fra siden «Innstillinger for "
        "e-post», så sender vi en ny e-post.",
        "replaced": "Lenken er erstattet av et nyere valg",
        "replaced_text": "Du ba om å få dette igjen: {what}. Etter det meldte du deg av på nytt, og det er "
        "det nyeste valget ditt som gjelder. Vi har derfor ikke endret noe. Vil du likevel ha det igjen, "
        "kryss av for det på siden «Innstillinger for e-post», så sender vi en ny e-post med en ny lenke.",
        "replaced_some": "Dette får du ikke igjen, fordi du meldte deg av på nytt etter at du ba om det: "
        "{what}. Vil du likevel ha det, kryss av for det på siden «Innstillinger for e-post».",
    },
    "nn": {
        "title": "Innstillingar for e-post",
        "intro": "Her vel du kva {org} sender til {address}.",
        "what": "Dette vil eg ha",
        "since": "Du melde deg av {when}.",
        "everything_off": "Du har meldt deg av all e-post frå oss ({when}). Kryss av for det du vil ha att.",
        "bounced": "E-post til adressa di har kome i retur, så vi sender ikkje lenger. Er adressa feil, "
        "skriv det under «Noko feil?».",
        "waiting": "Ventar på at du stadfestar i e-posten vi sende (innan {when}).",
        "required": "Følgjer vervet ditt: du får dette {reason}. Det kan ikkje slåast av her.",
        "required_off": "Høyrer til vervet ditt ({reason}), men du har meldt deg av.",
        "back_note": "Slår du på noko du har meldt deg av, sender vi først ein e-post til adressa di. "
        "Det gjeld når du trykkjer på lenkja i han (innan 48 timar).",
        "language": "Målform",
        "nb": "Bokmål",
        "nn": "Nynorsk",
        "save": "Lagre",
        "pause": "Ta ein pause",
        "pause_text": "Pause frå alt som ikkje høyrer til vervet ditt. Pausen sluttar av seg sjølv.",
        "months": "{n} månad|{n} månader",
        "pause_button": "Ta pause",
        "paused": "Du har pause frå alt som ikkje høyrer til vervet ditt. Du får det att frå {when}.",
        "resume": "Avslutt pausen no",
        "data": "Dataa dine",
        "data_text": "Vi sender ei fil med alt vi har lagra om deg til e-postadressa di. Fila blir ikkje "
        "vist her. Du kan be om henne éin gong i døgeret.",
        "data_button": "Last ned dataa mine",
        "wrong": "Noko feil?",
        "wrong_text": "Er namnet, adressa eller noko anna feil? Skriv det her, så får fylkessekretæren "
        "melding. Vi endrar ikkje medlemsregisteret herifrå: sekretæren rettar det i registeret.",
        "wrong_button": "Send til sekretæren",
        "saved": "Lagra.",
        "saved_off": "Du får ikkje lenger: {what}.",
        "saved_back": "Vi har sendt ein e-post til adressa di. Trykk på knappen i han for å få {what} att.",
        "saved_language": "Heretter skriv vi til deg på {language}.",
        "confirmations_used": "Vi har alt sendt deg fleire e-postar om dette i dag. Sjå i innboksen, "
        "eller prøv att etter {when}.",
        "paused_now": "Pausen er registrert. Du får e-post frå oss att frå {when}.",
        "resumed": "Pausen er over. Du får e-post frå oss som før.",
        "not_paused": "Du hadde ingen pause.",
        "data_sent": "Vi har sendt dataa dine til e-postadressa di.",
        "data_later": "Du har alt fått dataa dine det siste døgeret. Neste gong kan du be om dei {when}.",
        "report_sent": "Takk! Fylkessekretæren har fått melding.",
        "report_later": "Du har sendt fleire meldingar i dag. Prøv att {when}.",
        "unknown": "Skjemaet nemnde noko som ikkje finst på sida. Last sida på nytt og prøv att.",
        "required_refused": "{what} følgjer vervet ditt og kan ikkje slåast av her. Ingenting er endra.",
        "bounced_refused": "E-post til adressa di kom i retur. Skriv under «Noko feil?» om adressa er feil.",
        "language_refused": "Vel bokmål eller nynorsk.",
        "months_refused": "Vel 1, 3 eller 6 månader.",
        "report_empty": "Skriv kva som er feil før du sender.",
        "report_long": "Meldinga er for lang. Skriv kortare (høgst 1000 teikn).",
        "action_refused": "Skjemaet kom ikkje frå denne sida. Last sida på nytt og prøv att.",
        "forged": "Skjemaet kom ikkje frå denne sida. Opne lenkja i e-posten på nytt og prøv att.",
        "too_large": "Det du sende er for stort. Skriv kortare og prøv att.",
        "confirm_title": "Vil du få dette att?",
        "confirm_text": "Du får {what} frå {org} att når du trykkjer på knappen.",
        "confirm_button": "Ja, send meg dette att",
        "confirmed": "Velkomen tilbake",
        "confirmed_text": "Du får {what} frå oss att frå neste utsending.",
        "already": "Lenkja er alt brukt",
        "already_text": "Denne stadfestinga er alt registrert. Du kan sjå vala dine på sida "
        "«Innstillingar for e-post».",
        "expired": "Lenkja er for gammal",
        "expired_text": "Stadfestinga må skje innan 48 timar. Be om det på nytt frå sida «Innstillingar for "
        "e-post», så sender vi ein ny e-post.",
        "replaced": "Lenkja er erstatta av eit nyare val",
        "replaced_text": "Du bad om å få dette att: {what}. Etter det melde du deg av på nytt, og det er "
        "det nyaste valet ditt som gjeld. Vi har difor ikkje endra noko. Vil du likevel ha det att, "
        "kryss av for det på sida «Innstillingar for e-post», så sender vi ein ny e-post med ei ny lenkje.",
        "replaced_some": "Dette får du ikkje att, fordi du melde deg av på nytt etter at du bad om det: "
        "{what}. Vil du likevel ha det, kryss av for det på sida «Innstillingar for e-post».",
    },
}

PAGE = """{% extends "base.html" %}{% block main %}<h1>{{ p.title }}</h1>
<p>{{ p.intro.format(org=org, address=address) }}</p>
{% for text in notices %}<p role="status"><strong>{{ text }}</strong></p>{% endfor %}
{% if error %}<p role="alert"><strong>{{ error }}</strong></p>{% endif %}
{% if bounced %}<p>{{ p.bounced }}</p>
{%- elif everything_since %}<p>{{ p.everything_off.format(when=everything_since) }}</p>{% endif %}
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="action" value="save">
<fieldset><legend><strong>{{ p.what }}</strong></legend>
{% for line in lines %}
{%- if not line.locked %}<input type="hidden" name="shown" value="{{ line.name }}">{% endif %}
<label><input type="checkbox" name="on" value="{{ line.name }}"{% if line.on %} checked{% endif %}
{%- if line.locked %} disabled{% endif %}> {{ line.label }}</label>
{% if line.note %}<p class="note">{{ line.note }}</p>{% endif %}
{% endfor %}<p class="note">{{ p.back_note }}</p></fieldset>
<fieldset><legend><strong>{{ p.language }}</strong></legend>
{% for code in ("nb", "nn") %}<label><input type="radio" name="language" value="{{ code }}"
{%- if code == language %} checked{% endif %}> {{ p[code] }}</label>
{% endfor %}</fieldset>
<button type="submit">{{ p.save }}</button></form>
<h2>{{ p.pause }}</h2>
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
{% if paused_until %}<p>{{ p.paused.format(when=paused_until) }}</p>
<input type="hidden" name="action" value="resume">
<button type="submit" class="secondary">{{ p.resume }}</button>
{% else %}<p class="note">{{ p.pause_text }}</p><input type="hidden" name="action" value="pause">
<fieldset>{% for n in months %}<label><input type="radio" name="months" value="{{ n }}"
{%- if loop.first %} checked{% endif %}> {{ month_label(n) }}</label>
{% endfor %}</fieldset><button type="submit">{{ p.pause_button }}</button>{% endif %}</form>
<h2>{{ p.data }}</h2>
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="action" value="export"><p class="note">{{ p.data_text }}</p>
<button type="submit">{{ p.data_button }}</button></form>
<h2>{{ p.wrong }}</h2>
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="action" value="report"><p class="note">{{ p.wrong_text }}</p>
<label for="report" class="note" style="padding:4px 0">{{ p.wrong }}</label>
<textarea id="report" name="text" rows="4" maxlength="{{ max_report }}"
style="width:100%;box-sizing:border-box;font:inherit">{{ report_text }}</textarea>
<button type="submit">{{ p.wrong_button }}</button></form>
{% endblock %}"""

CONFIRM = """{% extends "base.html" %}{% block main %}<h1>{{ p.confirm_title }}</h1>
<p>{{ p.confirm_text.format(what=what, org=org) }}</p>
{% if replaced %}<p class="note">{{ replaced }}</p>{% endif %}
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit">{{ p.confirm_button }}</button></form>{% endblock %}"""


@cache
def _env() -> jinja2.Environment:
    own = jinja2.DictLoader({"preferences.html": PAGE, "confirm.html": CONFIRM})
    loader = jinja2.ChoiceLoader([own, pages._env().loader])  # type: ignore[list-item]
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def words(lang: str) -> dict[str, str]:
    return TEXTS["nn" if lang == "nn" else "nb"]


def render(name: str, lang: str, **context: Any) -> str:
    lang = "nn" if lang == "nn" else "nb"
    p = words(lang)

    def month_label(n: int) -> str:
        one, many = p["months"].split("|")
        return (one if n == 1 else many).format(n=n)

    return (
        _env()
        .get_template(name)
        .render(lang=lang, t=pages.texts(lang), p=p, month_label=month_label, **context)
    )
