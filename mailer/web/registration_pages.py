"""The pages of an event's registration (`/p/`): the form, where one stands, and the answers to a click.

Plain HTML forms (no JavaScript), Norwegian (nynorsk for members who prefer it), readable at
375 px. A page shows a member's first name at most, never an address, a join link or anyone's
answers: a link may be forwarded.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from mailer.web import pages

TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "when": "Når",
        "where": "Hvor",
        "online": "Digitalt: lenken kommer på e-post når du er påmeldt.",
        "online_placed": "Digitalt: lenken står i e-posten som bekreftet plassen din.",
        "closes": "Påmeldingsfrist: {when}.",
        "places_left": "{n} ledige plasser.",
        "full_list": "Alle plassene er tatt, men du kan stå på venteliste.",
        "full": "Alle plassene er tatt.",
        "hello": "Hei, {name}!",
        "you_register": "Du melder deg på med navnet og e-postadressen vi har i medlemsregisteret.",
        "register": "Meld meg på",
        "required": "må fylles ut",
        "choose": "Velg",
        "yes": "Ja",
        "no": "Nei",
        "date_hint": "dd.mm.åååå",
        "fix": "Noe må rettes før påmeldingen kan tas imot.",
        "placed_title": "Du har plass",
        "placed": "Du er påmeldt. Bekreftelsen med kalenderinvitasjon kommer på e-post.",
        "waiting_title": "Du står på ventelisten",
        "waiting": "Du står som nummer {n} på ventelisten. Blir en plass ledig, får du e-post.",
        "offered_title": "En plass er ledig til deg",
        "offered": "Vil du ha plassen? Svar innen {when}; ellers går den videre til nestemann.",
        "accept": "Ja, jeg tar plassen",
        "decline": "Nei takk",
        "cancel_place": "Meld meg av",
        "leave_list": "Gå av ventelisten",
        "cancel_note": "Kan du ikke komme, meld deg av, så får en annen plassen.",
        "cancelled_title": "Du er meldt av",
        "cancelled": "Du er ikke påmeldt {title}.",
        "again": "Du kan melde deg på igjen så lenge påmeldingen er åpen.",
        "expired_title": "Tilbudet har gått ut",
        "expired": "Du svarte ikke i tide, og plassen gikk videre.",
        "full_title": "Det er fullt",
        "full_text": "Alle plassene er tatt, og det er ingen venteliste.",
        "closed_title": "Påmeldingen er stengt",
        "closed": "Fristen for å melde seg på er ute.",
        "called_off_title": "Arrangementet er avlyst",
        "called_off": "{title} er avlyst, og påmeldingen er stengt.",
        "called_off_reason": "Grunnen: {reason}",
        "started_title": "Arrangementet har begynt",
        "started": "Det er ikke lenger mulig å endre påmeldingen.",
        "already": "Du var allerede påmeldt; ingenting er endret.",
        "too_often": "Du har meldt deg på {n} ganger det siste døgnet, og hver gang sender vi en e-post. "
        "Prøv igjen i morgen, eller kontakt arrangøren.",
        "unconfirmed_title": "Bekreft påmeldingen",
        "unconfirmed": "Trykk på knappen for å bekrefte at du vil delta. Påmeldingen gjelder først da.",
        "confirm": "Bekreft påmeldingen",
        "not_me": "Det var ikke meg",
        "lapsed_title": "Lenken har gått ut",
        "lapsed": "Påmeldingen ble ikke bekreftet innen ett døgn og er slettet. Du kan melde deg på igjen.",
        "gone_title": "Påmeldingen finnes ikke lenger",
        "gone": "Vi har ingen påmelding lagret for denne lenken. Vi sletter en påmelding som ikke blir "
        "bekreftet innen ett døgn, og vi sletter opplysninger når noen ber om det eller når "
        "arrangementet er over.",
        "public_intro": "Fyll inn navn og e-post. Du får en e-post med en lenke som bekrefter påmeldingen.",
        "name": "Navn",
        "email": "E-post",
        "bad_name": "Skriv navnet ditt (høyst 100 tegn, på én linje).",
        "bad_email": "Skriv en gyldig e-postadresse.",
        "check_mail_title": "Sjekk e-posten din",
        "check_mail": "Vi har sendt en e-post til adressen du oppga. Påmeldingen gjelder når du har "
        "trykket på lenken i den, innen ett døgn. Kommer det ingen e-post, er adressen kanskje "
        "allerede påmeldt, eller skrevet feil.",
        "forged": "Skjemaet kom ikke fra denne siden. Last siden på nytt og prøv igjen.",
        "too_large": "Påmeldingen er for stor til å tas imot. Gjør svarene kortere.",
        "no_event": "Finner ikke arrangementet",
        "no_event_text": "Det finnes ikke lenger, eller lenken er feil.",
    },
    "nn": {
        "when": "Når",
        "where": "Kvar",
        "online": "Digitalt: lenkja kjem på e-post når du er påmeld.",
        "online_placed": "Digitalt: lenkja står i e-posten som stadfesta plassen din.",
        "closes": "Påmeldingsfrist: {when}.",
        "places_left": "{n} ledige plassar.",
        "full_list": "Alle plassane er tekne, men du kan stå på venteliste.",
        "full": "Alle plassane er tekne.",
        "hello": "Hei, {name}!",
        "you_register": "Du melder deg på med namnet og e-postadressa vi har i medlemsregisteret.",
        "register": "Meld meg på",
        "required": "må fyllast ut",
        "choose": "Vel",
        "yes": "Ja",
        "no": "Nei",
        "date_hint": "dd.mm.åååå",
        "fix": "Noko må rettast før påmeldinga kan takast imot.",
        "placed_title": "Du har plass",
        "placed": "Du er påmeld. Stadfestinga med kalenderinvitasjon kjem på e-post.",
        "waiting_title": "Du står på ventelista",
        "waiting": "Du står som nummer {n} på ventelista. Vert ein plass ledig, får du e-post.",
        "offered_title": "Ein plass er ledig til deg",
        "offered": "Vil du ha plassen? Svar innan {when}; elles går han vidare til nestemann.",
        "accept": "Ja, eg tek plassen",
        "decline": "Nei takk",
        "cancel_place": "Meld meg av",
        "leave_list": "Gå av ventelista",
        "cancel_note": "Kan du ikkje kome, meld deg av, så får ein annan plassen.",
        "cancelled_title": "Du er meld av",
        "cancelled": "Du er ikkje påmeld {title}.",
        "again": "Du kan melde deg på att så lenge påmeldinga er open.",
        "expired_title": "Tilbodet har gått ut",
        "expired": "Du svarte ikkje i tide, og plassen gjekk vidare.",
        "full_title": "Det er fullt",
        "full_text": "Alle plassane er tekne, og det er inga venteliste.",
        "closed_title": "Påmeldinga er stengd",
        "closed": "Fristen for å melde seg på er ute.",
        "called_off_title": "Arrangementet er avlyst",
        "called_off": "{title} er avlyst, og påmeldinga er stengd.",
        "called_off_reason": "Grunnen: {reason}",
        "started_title": "Arrangementet har byrja",
        "started": "Det er ikkje lenger mogleg å endre påmeldinga.",
        "already": "Du var allereie påmeld; ingenting er endra.",
        "too_often": "Du har meldt deg på {n} gonger det siste døgeret, og kvar gong sender vi ein e-post. "
        "Prøv igjen i morgon, eller kontakt arrangøren.",
        "unconfirmed_title": "Stadfest påmeldinga",
        "unconfirmed": "Trykk på knappen for å stadfeste at du vil delta. Påmeldinga gjeld først då.",
        "confirm": "Stadfest påmeldinga",
        "not_me": "Det var ikkje meg",
        "lapsed_title": "Lenkja har gått ut",
        "lapsed": "Påmeldinga vart ikkje stadfesta innan eitt døgn og er sletta. Du kan melde deg på att.",
        "gone_title": "Påmeldinga finst ikkje lenger",
        "gone": "Vi har inga påmelding lagra for denne lenkja. Vi slettar ei påmelding som ikkje vert "
        "stadfesta innan eitt døgn, og vi slettar opplysningar når nokon ber om det, eller når "
        "arrangementet er over.",
        "public_intro": "Fyll inn namn og e-post. Du får ein e-post med ei lenkje som stadfestar påmeldinga.",
        "name": "Namn",
        "email": "E-post",
        "bad_name": "Skriv namnet ditt (høgst 100 teikn, på éi linje).",
        "bad_email": "Skriv ei gyldig e-postadresse.",
        "check_mail_title": "Sjå etter i e-posten din",
        "check_mail": "Vi har sendt ein e-post til adressa du skreiv. Påmeldinga gjeld når du har "
        "trykt på lenkja i han, innan eitt døgn. Kjem det ingen e-post, er adressa kanskje "
        "allereie påmeld, eller skriven feil.",
        "forged": "Skjemaet kom ikkje frå denne sida. Last sida på nytt og prøv att.",
        "too_large": "Påmeldinga er for stor til å takast imot. Gjer svara kortare.",
        "no_event": "Finn ikkje arrangementet",
        "no_event_text": "Det finst ikkje lenger, eller lenkja er feil.",
    },
}

STYLE = """<style>
input[type=text],input[type=email],textarea{width:100%;box-sizing:border-box;font:inherit;padding:8px;
border:1px solid #888;border-radius:4px}
.facts{background:#fff;padding:10px 14px;border-radius:6px}
.error{color:#b00020;font-weight:bold}
.status{background:#e3f3e8;border-left:4px solid #00843d;padding:8px 12px}
.trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
form.inline{display:inline}
</style>"""

FACTS = """<div class="facts"><p><strong>{{ c.when }}:</strong> {{ when }}
{% if event.location %}<br><strong>{{ c.where }}:</strong> {{ event.location }}{% endif %}
{% if event.online %}<br>{{ c.online_placed if placed is defined and placed else c.online }}{% endif %}</p>
{% if event.description %}<p>{{ event.description }}</p>{% endif %}</div>"""

QUESTIONS = """{% for q in questions %}<fieldset><legend><strong>{{ q.label }}</strong>
{%- if q.required %} ({{ c.required }}){% endif %}</legend>
{% if errors.get(q.id) %}<p class="error">{{ errors[q.id] }}</p>{% endif %}
{% set value = values.get(q.id, "") %}{% set name = "q." ~ q.id %}
{% if q.type == "text" %}<textarea name="{{ name }}" rows="3" maxlength="{{ q.max_length }}">
{{- value }}</textarea>
{% elif q.type == "date" %}<input type="text" name="{{ name }}" value="{{ value }}" inputmode="numeric"
placeholder="{{ c.date_hint }}" maxlength="10"{% if q.required %} required{% endif %}>
{% elif q.type == "choice" %}{% for choice in q.choices %}<label><input type="radio" name="{{ name }}"
value="{{ choice }}"{% if choice == value %} checked{% endif %}{% if q.required %} required{% endif %}>
{{ choice }}</label>{% endfor %}
{% else %}{% for v, label in [("ja", c.yes), ("nei", c.no)] %}<label><input type="radio" name="{{ name }}"
value="{{ v }}"{% if v == value %} checked{% endif %}{% if q.required %} required{% endif %}>
{{ label }}</label>
{% endfor %}{% endif %}</fieldset>
{% endfor %}"""

_TEMPLATES = {
    "event_form.html": """{% extends "base.html" %}{% block main %}"""
    + STYLE
    + """<h1>{{ title }}</h1>
{% include "facts.html" %}
{% if notice %}<p class="status">{{ notice }}</p>{% endif %}
{% if first_name %}<p>{{ c.hello.format(name=first_name) }} {{ c.you_register }}</p>{% endif %}
{% if room %}<p>{{ room }}</p>{% endif %}<p class="note">{{ closes }}</p>
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="action" value="register">
{% if public %}<p>{{ c.public_intro }}</p>
<fieldset><legend><strong>{{ c.name }}</strong></legend>{% if errors.get("name") %}<p class="error">
{{ errors.name }}</p>{% endif %}<input type="text" name="name" value="{{ values.get("name", "") }}"
maxlength="100" autocomplete="name" required></fieldset>
<fieldset><legend><strong>{{ c.email }}</strong></legend>{% if errors.get("email") %}<p class="error">
{{ errors.email }}</p>{% endif %}<input type="email" name="email" value="{{ values.get("email", "") }}"
maxlength="254" autocomplete="email" required></fieldset>
<div class="trap" aria-hidden="true"><label>Website <input type="text" name="website" tabindex="-1"
autocomplete="off"></label></div>{% endif %}
{% include "questions.html" %}
<button type="submit">{{ c.register }}</button></form>{% endblock %}""",
    "event_status.html": """{% extends "base.html" %}{% block main %}"""
    + STYLE
    + """<h1>{{ heading }}</h1>
{% if notice %}<p class="status">{{ notice }}</p>{% endif %}
{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}
<h2>{{ title }}</h2>{% include "facts.html" %}
{% for action, label, secondary in buttons %}<form method="post" class="inline">
<input type="hidden" name="csrf" value="{{ csrf }}"><input type="hidden" name="action" value="{{ action }}">
<button type="submit"{% if secondary %} class="secondary"{% endif %}>{{ label }}</button></form>
{% endfor %}{% if note %}<p class="note">{{ note }}</p>{% endif %}{% endblock %}""",
    "facts.html": FACTS,
    "questions.html": QUESTIONS,
}


@cache
def _env() -> jinja2.Environment:
    own = jinja2.DictLoader(_TEMPLATES)
    loader = jinja2.ChoiceLoader([own, pages._env().loader])  # type: ignore[list-item]
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def texts(lang: str) -> dict[str, str]:
    return TEXTS["nn" if lang == "nn" else "nb"]


def render(name: str, lang: str, **context: Any) -> str:
    lang = "nn" if lang == "nn" else "nb"
    return _env().get_template(name).render(lang=lang, t=pages.texts(lang), c=texts(lang), **context)
