"""Draws the example project's invented logo and pictures with Pillow: no real logo, person or photo.

`python examples/draw_example_pictures.py` writes them into drafts/bilder/ (where the example
newsletter and `organisation.logo` in schedules.yaml find them). Flat colours keep each file at
a few kB, so the repository and the 340 messages of the example stay light.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "drafts" / "bilder"
FONT = Path("/usr/share/fonts/truetype/dejavu")
GREEN, DARK_GREEN, WHEAT, WHITE = (31, 107, 58), (20, 74, 40), (240, 196, 64), (255, 255, 255)


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT / name), size)


def logo() -> Image.Image:
    """An invented emblem (a sun rising over a field) and the wordmark, white on transparent.

    The newsletter's header is the organisation's green, so the logo is drawn light. Drawn at
    480 px and saved at 400 (what mailer keeps of a logo), shown at 200 px: sharp on screens with
    twice the pixels.
    """
    image = Image.new("RGBA", (480, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 112, 112), fill=WHITE)
    draw.pieslice((30, 34, 90, 94), 180, 360, fill=WHEAT)  # the sun
    draw.chord((-10, 62, 130, 150), 180, 360, fill=GREEN)  # the field
    draw.rectangle((0, 100, 120, 120), fill=(0, 0, 0, 0))
    draw.ellipse((8, 8, 112, 112), outline=WHITE, width=6)
    for x in (40, 60, 80):  # furrows
        draw.line((60, 112, x, 78), fill=DARK_GREEN, width=3)
    draw.text((132, 18), "Akershus", font=font("DejaVuSans-Bold.ttf", 40), fill=WHITE)
    draw.text((134, 64), "Senterparti", font=font("DejaVuSans.ttf", 34), fill=WHITE)
    return image.resize((400, 100), Image.Resampling.LANCZOS)


def winter_evening() -> Image.Image:
    """An invented landscape: a red farmhouse in snowy fields on a winter evening, spruces behind."""
    w, h = 1104, 560
    image = Image.new("RGB", (w, h), (34, 52, 92))
    draw = ImageDraw.Draw(image)
    sky = [(34, 52, 92), (52, 74, 120), (82, 104, 150), (128, 140, 178), (196, 170, 170)]
    for i, colour in enumerate(sky):
        draw.rectangle((0, i * 56, w, (i + 1) * 56 if i < 4 else 400), fill=colour)  # the sky, in bands
    draw.ellipse((860, 60, 920, 120), fill=(246, 238, 210))  # the moon
    for x, y in [(120, 40), (300, 90), (520, 30), (700, 110), (1010, 70), (420, 150), (80, 180)]:
        draw.ellipse((x, y, x + 4, y + 4), fill=WHITE)
    hills = [(0, 330), (260, 250), (540, 310), (820, 240), (1104, 300), (1104, 560), (0, 560)]
    draw.polygon(hills, fill=(214, 226, 238))
    for x in range(0, w, 46):  # the spruce forest on the ridge
        top = 250 + (x * 7) % 40
        draw.polygon([(x, top + 80), (x + 23, top), (x + 46, top + 80)], fill=(28, 66, 48))
    draw.polygon([(0, 400), (380, 350), (760, 390), (1104, 360), (1104, 560), (0, 560)], fill=(238, 243, 248))
    draw.rectangle((420, 300, 640, 410), fill=(156, 38, 36))  # the farmhouse
    draw.polygon([(400, 305), (530, 235), (660, 305)], fill=(60, 44, 44))
    draw.polygon([(408, 300), (530, 236), (652, 300), (640, 300), (530, 244), (420, 300)], fill=WHITE)
    for x in (445, 500, 575):
        draw.rectangle((x, 330, x + 34, 362), fill=(250, 214, 110))
        draw.line((x + 17, 330, x + 17, 362), fill=WHITE, width=3)
    draw.rectangle((612, 350, 634, 410), fill=(90, 30, 28))
    draw.rectangle((700, 340, 820, 410), fill=(120, 120, 124))  # the barn
    draw.polygon([(690, 345), (760, 300), (830, 345)], fill=(70, 70, 74))
    for x, y in [(130, 470), (250, 500), (900, 480), (1000, 520), (60, 530)]:
        draw.line((x, y, x + 60, y - 8), fill=(190, 204, 218), width=4)  # tracks in the snow
    return image


def meeting_room() -> Image.Image:
    """An invented meeting room: a long table, empty chairs, a screen with a rising bar chart."""
    w, h = 360, 240
    image = Image.new("RGB", (w, h), (236, 240, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 170, w, h), fill=(196, 176, 146))  # the floor
    draw.rectangle((100, 24, 260, 110), fill=(40, 44, 52))  # the screen
    for i, height in enumerate((18, 30, 44, 58)):
        x = 124 + i * 30
        draw.rectangle((x, 98 - height, x + 18, 98), fill=(120, 200, 140) if i < 3 else WHEAT)
    draw.line((118, 66, 244, 66), fill=WHITE, width=1)
    draw.polygon([(60, 150), (300, 150), (330, 190), (30, 190)], fill=(122, 84, 54))  # the table
    for x in (60, 120, 180, 240):
        draw.rounded_rectangle((x, 120, x + 36, 152), radius=6, fill=GREEN)  # chairs behind it
    draw.ellipse((260, 168, 276, 184), fill=WHITE)  # coffee cups
    draw.ellipse((90, 168, 106, 184), fill=WHITE)
    draw.rectangle((20, 40, 70, 130), fill=(150, 190, 210))  # a window
    draw.line((45, 40, 45, 130), fill=WHITE, width=4)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    logo().save(OUT / "logo.png", optimize=True)
    winter_evening().save(OUT / "vinterkveld.png", optimize=True)
    meeting_room().save(OUT / "moterom.png", optimize=True)
    for name in ("logo.png", "vinterkveld.png", "moterom.png"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
