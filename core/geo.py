"""Coordinates: WGS-84 ⇄ GCJ-02, and the grid cells of the map.

Units' positions are stored in WGS-84 (CGCS2000 agrees with it to centimetres): what a phone's GPS
and a photo's EXIF give and what 天地图 draws. Most other Chinese web maps (高德, 腾讯) draw their tiles
in GCJ-02, the obfuscated system the mapping regulations require, offset from WGS-84 by a few
hundred metres; a map on such tiles converts positions for display only (docs/map.md).

The conversion is the published one (the formula every open implementation carries, e.g.
googollee/eviltransform); no small, maintained PyPI package does it (eviltransform had one release,
in 2017), so it is written here and tested against those implementations' reference points.
GCJ-02 → WGS-84 has no closed form: it is solved by fixed-point iteration to well under a
centimetre. Points outside China are not shifted, as in every implementation.
"""

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the formula has it
_EE = 0.00669342162296594323  # its first eccentricity squared


def out_of_china(lng, lat):
    """The rectangle outside which GCJ-02 equals WGS-84 (the formula's own bound)."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _shift(x, y):
    """The raw offsets (lat, lng), in metres-like units, at x = lng − 105, y = lat − 35."""
    d = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + d
    lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + d
    lng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    lng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return lat, lng


def _delta(lng, lat):
    dlat, dlng = _shift(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlng, dlat


def wgs84_to_gcj02(lng, lat):
    """(lng, lat) in WGS-84 → (lng, lat) in GCJ-02."""
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    dlng, dlat = _delta(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng, lat):
    """(lng, lat) in GCJ-02 → (lng, lat) in WGS-84, by iteration (error < 1e-9 degrees)."""
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    wlng, wlat = lng, lat
    for _step in range(30):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        elng, elat = glng - lng, glat - lat
        wlng, wlat = wlng - elng, wlat - elat
        if abs(elng) < 1e-10 and abs(elat) < 1e-10:
            break
    return wlng, wlat


WGS84 = "wgs84"
GCJ02 = "gcj02"
CRS_CHOICES = (WGS84, GCJ02)


def to_display(crs, lng, lat):
    """A stored (WGS-84) position as the map's tiles draw it."""
    return wgs84_to_gcj02(lng, lat) if crs == GCJ02 else (float(lng), float(lat))


def from_display(crs, lng, lat):
    """A position on the map's tiles (a click, a view's corner) back in WGS-84."""
    return gcj02_to_wgs84(lng, lat) if crs == GCJ02 else (float(lng), float(lat))


def cell_size(zoom):
    """The side of a grid cell, in degrees, at a web-map zoom level: about 64 screen pixels."""
    return 90.0 / (2 ** max(0, min(int(zoom), 22)))


def metres(lng1, lat1, lng2, lat2):
    """Great-circle distance in metres (haversine on a sphere of the WGS-84 mean radius)."""
    radius = 6371008.8
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi, dlambda = phi2 - phi1, math.radians(float(lng2) - float(lng1))
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(min(1.0, math.sqrt(a)))
