"""Draw the installed app's icons (static/fieldsync/icon-*.png) from the product's name and colours.

Run once when the name or colours change; the PNGs are kept in the repository. Needs a CJK font
(Debian: fonts-noto-cjk).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from PIL import Image, ImageDraw, ImageFont

FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
BLUE = (23, 74, 131)
WHITE = (255, 255, 255)


def draw(size, *, maskable, font_path):
    """The icon: "四无" in white on the site's dark blue; a maskable icon keeps it in the safe circle."""
    image = Image.new("RGB", (size, size), BLUE)
    pen = ImageDraw.Draw(image)
    if not maskable:
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        pen = ImageDraw.Draw(image)
        pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=BLUE)
    text_size = int(size * (0.3 if maskable else 0.38))
    font = ImageFont.truetype(font_path, text_size)
    pen.text((size / 2, size / 2), "四无", font=font, fill=WHITE, anchor="mm")
    return image


class Command(BaseCommand):
    help = "Draw static/fieldsync/icon-192.png, icon-512.png and icon-maskable-512.png."

    def handle(self, *args, **options):
        font_path = next((path for path in FONTS if Path(path).exists()), None)
        if font_path is None:
            raise CommandError("需要中文字体（fonts-noto-cjk）才能绘制图标。")
        folder = Path(settings.BASE_DIR) / "static" / "fieldsync"
        folder.mkdir(parents=True, exist_ok=True)
        for name, size, maskable in (
            ("icon-192.png", 192, False),
            ("icon-512.png", 512, False),
            ("icon-maskable-512.png", 512, True),
        ):
            draw(size, maskable=maskable, font_path=font_path).save(folder / name, optimize=True)
            self.stdout.write(str(folder / name))
