"""What members read for each category of mail, in bokmål and nynorsk, and why an office requires it."""

from __future__ import annotations

from mailer.project.categories import EVENT, Category, by_name
from mailer.project.config import Config
from mailer.project.mailing_config import InvitationConfig, NewsletterConfig

WORDS = {
    "nb": {
        "newsletter": "Nyhetsbrevet",
        "other_newsletter": "E-poster merket «{name}»",
        "invitation": "Invitasjoner til {title}",
        "consultation": "Høringer (spørsmål til lokallagene om innspill)",
        "follow-up": "Oppfølging de første ukene som nytt medlem",
        "chapter-notice": "Beskjed om nye medlemmer i lokallaget",
        "everything": "alt fra oss",
        "and": "og",
    },
    "nn": {
        "newsletter": "Nyhendebrevet",
        "other_newsletter": "E-postar merka «{name}»",
        "invitation": "Invitasjonar til {title}",
        "consultation": "Høyringar (spørsmål til lokallaga om innspel)",
        "follow-up": "Oppfølging dei første vekene som nytt medlem",
        "chapter-notice": "Melding om nye medlemer i lokallaget",
        "everything": "alt frå oss",
        "and": "og",
    },
}


def label(config: Config, name: str, lang: str) -> str:
    """A category as a member reads it ("Nyhetsbrevet", "Invitasjoner til Tirsdagsmøte"); an event
    by its title ("Invitasjoner til Medlemstreff på Stortinget")."""
    w = WORDS.get(lang, WORDS["nb"])
    if name == "*":
        return w["everything"]
    category: Category | None = by_name(config).get(name)
    if category is None:
        return name
    cfg = config.mailings.get(category.mailing)
    if isinstance(cfg, NewsletterConfig):
        first = next(k for k, m in config.mailings.items() if isinstance(m, NewsletterConfig))
        return w["newsletter"] if name == first else w["other_newsletter"].format(name=name)
    if isinstance(cfg, InvitationConfig):
        return w["invitation"].format(title=cfg.meeting.title)
    event = config.events.get(category.mailing) if category.kind == EVENT else None
    if event is not None:
        return w["invitation"].format(title=event.title)  # as the event's own unsubscribe page says
    if category.kind in w:
        return w[category.kind]
    return name


def both(config: Config, names: list[str]) -> dict[str, str]:
    """The names as one phrase in each language, for a message rendered in either."""
    return {lang: join([label(config, n, lang) for n in names], lang) for lang in WORDS}


def join(parts: list[str], lang: str) -> str:
    """ "a, b og c"."""
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {WORDS[lang]['and']} {parts[-1]}"


def because(roles: tuple[str, ...], lang: str) -> str:
    """Why an office requires a category: "fordi du er lokallagsleder"."""
    return f"fordi du er {join(list(roles), lang)}"
