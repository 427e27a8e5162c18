"""import_outlines FILE: the townships' and villages' outlines for the map page, from GeoJSON.

A FeatureCollection of Polygon or MultiPolygon features in WGS-84 / CGCS2000 degrees (what 天地图
and the natural-resources departments publish; docs/map.md). Each feature names its place in its
properties: 乡镇街道 (or ``township``) and, for a village, 村社区 (or ``village``). A township or
village the file names must exist. Importing replaces the outlines it names and leaves the others;
all or nothing: a bad feature is a clear error naming it, exit status 1, and nothing is written.
"""

import json
import math

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaign.models import Outline, Township, Village

MAX_BYTES = 50 * 1024 * 1024
TOWNSHIP_KEYS = ("乡镇街道", "township", "乡镇", "街道")
VILLAGE_KEYS = ("村社区", "village", "村")


class Command(BaseCommand):
    help = "导入乡镇（街道）和村（社区）的边界（GeoJSON，WGS-84），供地图页使用"

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"无法读取文件 {file}：{error.strerror}") from None
        if len(raw) > MAX_BYTES:
            raise CommandError("文件超过 50 MB")
        try:
            document = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"不是有效的 GeoJSON（UTF-8 编码的 JSON）：{error}") from None
        places, errors = read_outlines(document)
        if errors:
            raise CommandError("\n".join(errors))
        with transaction.atomic():
            for (kind, place), (geometry, box) in places.items():
                Outline.objects.update_or_create(
                    **{kind: place},
                    defaults={"geometry": geometry, "west": box[0], "south": box[1], "east": box[2], "north": box[3]},
                )
        townships = sum(1 for kind, _place in places if kind == "township")
        self.stdout.write(f"已导入 {townships} 个乡镇（街道）、{len(places) - townships} 个村（社区）的边界")


def _prop(properties, keys):
    for key in keys:
        value = properties.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def read_outlines(document):
    """({(kind, place): (geometry, box)}, errors) of a GeoJSON FeatureCollection; no write."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return {}, ["文件应为 GeoJSON FeatureCollection"]
    features = document.get("features")
    if not isinstance(features, list) or not features:
        return {}, ["文件中没有要素（features）"]
    townships = {t.name: t for t in Township.objects.all()}
    villages = {(v.township_id, v.name): v for v in Village.objects.all()}
    places, errors = {}, []
    for number, feature in enumerate(features, start=1):
        where = f"第{number}个要素"
        properties = (feature or {}).get("properties") or {} if isinstance(feature, dict) else {}
        township_name = _prop(properties, TOWNSHIP_KEYS)
        village_name = _prop(properties, VILLAGE_KEYS)
        if not township_name:
            errors.append(f"{where}：属性中缺少“乡镇街道”")
            continue
        township = townships.get(township_name)
        if township is None:
            errors.append(f"{where}：系统中没有乡镇（街道）“{township_name}”")
            continue
        if village_name:
            village = villages.get((township.pk, village_name))
            if village is None:
                errors.append(f"{where}：{township_name}没有村（社区）“{village_name}”")
                continue
            key, label = ("village", village), f"{township_name}{village_name}"
        else:
            key, label = ("township", township), township_name
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        box, problem = check_geometry(geometry)
        if problem:
            errors.append(f"{where}（{label}）：{problem}")
            continue
        if key in places:
            errors.append(f"{where}（{label}）：与前面的要素重复")
            continue
        places[key] = (geometry, box)
    return places, errors


def check_geometry(geometry):
    """(box, None) of a valid Polygon/MultiPolygon in degrees, else (None, why)."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None, "几何类型应为 Polygon 或 MultiPolygon"
    polygons = geometry.get("coordinates")
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    lngs, lats = [], []
    try:
        for polygon in polygons:
            for ring in polygon:
                if len(ring) < 4:
                    return None, "多边形的环至少需要 4 个点"
                for point in ring:
                    lng, lat = float(point[0]), float(point[1])
                    if not (math.isfinite(lng) and math.isfinite(lat) and -180 <= lng <= 180 and -90 <= lat <= 90):
                        return None, f"坐标超出范围：{point[0]}, {point[1]}（应为经度、纬度的十进制度数）"
                    lngs.append(lng)
                    lats.append(lat)
    except (TypeError, ValueError, IndexError):
        return None, "坐标格式无效"
    if not lngs:
        return None, "没有坐标"
    return (min(lngs), min(lats), max(lngs), max(lats)), None
