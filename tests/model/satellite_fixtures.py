"""Small satellite products made in code, in their real file structures.

- :func:`make_s1_grd_safe`: a Sentinel-1 GRD SAFE folder: ``manifest.safe`` (XFDU),
  annotation, calibration and noise XML with the element names of the Sentinel-1
  Level-1 product specification, and a uint16 measurement GeoTIFF with GCPs. The
  scene is a rotated image (platform heading −12°, ascending) whose σ⁰ is known:
  water west of ``water_x`` (UTM 32N), land east of it, with gamma speckle.
- :func:`make_s2_l2a_granule`: a Sentinel-2 L2A product: ``MTD_MSIL2A.xml`` with the
  processing baseline and ``BOA_ADD_OFFSET``, a granule with 10 m B03 and 20 m
  B11 and SCL as JPEG 2000 (GeoTIFF when the driver is absent).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import rasterio
import rasterio.drivers
import rasterio.shutil
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

S1_NAME = "S1A_IW_GRDH_1SDV_20241102T170115_20241102T170140_056345_06E7A1_ABCD.SAFE"
STEM = "s1a-iw-grd-{pol}-20241102t170115-20241102t170140-056345-06e7a1-00{n}"
HEADING = -12.0
SPACING = 10.0


def image_to_utm(line, pixel, origin=(499_200.0, 6_299_000.0)):
    """UTM 32N of image (line, pixel): lines run along the heading, pixels to its right."""
    h = np.deg2rad(HEADING)
    along = np.array([np.sin(h), np.cos(h)])
    right = np.array([np.cos(h), -np.sin(h)])
    line, pixel = np.asarray(line, float), np.asarray(pixel, float)
    x = origin[0] + SPACING * (line * along[0] + pixel * right[0])
    y = origin[1] + SPACING * (line * along[1] + pixel * right[1])
    return x, y


def _vec(values) -> str:
    return " ".join(f"{v:.6e}" if isinstance(v, float) else str(v) for v in values)


def make_s1_grd_safe(folder: Path, *, water_x: float = 500_000.0, lines: int = 260,
                     pixels: int = 220, water_db: float = -23.0, land_db: float = -8.0,
                     water_x_max: float | None = None, seed: int = 0,
                     pols: tuple[str, ...] = ("vv",)) -> Path:
    """A GRD SAFE folder (see module docstring); returns its path."""
    safe = Path(folder) / S1_NAME
    (safe / "measurement").mkdir(parents=True)
    (safe / "annotation" / "calibration").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    ln, px = np.meshgrid(np.arange(lines), np.arange(pixels), indexing="ij")
    x, _ = image_to_utm(ln + 0.5, px + 0.5)
    water = x < water_x
    if water_x_max is not None:
        water &= x > water_x_max - 10_000
    to_ll = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    gl, gp = np.meshgrid(np.arange(0, lines + 1, 20), np.arange(0, pixels + 1, 20), indexing="ij")
    gx, gy = image_to_utm(gl, gp)
    glon, glat = to_ll.transform(gx, gy)
    incidence = 30.0 + 15.0 * gp / pixels
    cal_lines = np.arange(0, lines + 50, 50)
    cal_pix = np.arange(0, pixels + 40, 40)
    files = []
    for pol in pols:
        offset = 0.0 if pol == "vv" else -7.0
        sigma = 10 ** (np.where(water, water_db + offset, land_db + offset) / 10)
        sigma = sigma * rng.gamma(4.4, 1 / 4.4, sigma.shape)
        gain = 480.0 + 0.4 * px + 0.1 * ln              # A_σ varies across the image
        noise = 10 ** (-28 / 10) * gain**2 * (0.8 + 0.4 * px / pixels)
        dn = np.sqrt(sigma * gain**2 + noise)
        dn[:, :3] = 0                                   # the no-data border of a GRD
        ann = f"annotation/{STEM.format(pol=pol, n=1)}.xml"
        cal = f"annotation/calibration/calibration-{STEM.format(pol=pol, n=1)}.xml"
        noi = f"annotation/calibration/noise-{STEM.format(pol=pol, n=1)}.xml"
        mea = f"measurement/{STEM.format(pol=pol, n=1)}.tiff"
        files += [ann, cal, noi, mea]
        points = "".join(
            f"<geolocationGridPoint><azimuthTime>2024-11-02T17:01:15.000000</azimuthTime>"
            f"<slantRangeTime>5.3e-03</slantRangeTime><line>{a}</line><pixel>{b}</pixel>"
            f"<latitude>{la:.9f}</latitude><longitude>{lo:.9f}</longitude><height>0</height>"
            f"<incidenceAngle>{i:.6f}</incidenceAngle><elevationAngle>{i - 3:.6f}"
            "</elevationAngle></geolocationGridPoint>"
            for a, b, la, lo, i in zip(gl.ravel(), gp.ravel(), glat.ravel(), glon.ravel(),
                                       incidence.ravel(), strict=True))
        (safe / ann).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<product><adsHeader><missionId>S1A'
            "</missionId><productType>GRD</productType><polarisation>" + pol.upper() +
            "</polarisation><mode>IW</mode><swath>IW</swath><startTime>"
            "2024-11-02T17:01:15.123456</startTime><stopTime>2024-11-02T17:01:40.123456"
            "</stopTime><absoluteOrbitNumber>56345</absoluteOrbitNumber><missionDataTakeId>"
            "452513</missionDataTakeId><imageNumber>001</imageNumber></adsHeader>"
            "<generalAnnotation><productInformation><pass>Ascending</pass>"
            "<timelinessCategory>Fast-24h</timelinessCategory><platformHeading>"
            f"{HEADING:.6e}</platformHeading><projection>Ground Range</projection>"
            "<rangeSamplingRate>6.4345238e+07</rangeSamplingRate><radarFrequency>5.405e+09"
            "</radarFrequency></productInformation></generalAnnotation><imageAnnotation>"
            f"<imageInformation><numberOfSamples>{pixels}</numberOfSamples><numberOfLines>"
            f"{lines}</numberOfLines><rangePixelSpacing>1.0e+01</rangePixelSpacing>"
            "<azimuthPixelSpacing>1.0e+01</azimuthPixelSpacing><incidenceAngleMidSwath>"
            "3.75e+01</incidenceAngleMidSwath></imageInformation></imageAnnotation>"
            f'<geolocationGrid><geolocationGridPointList count="{gl.size}">{points}'
            "</geolocationGridPointList></geolocationGrid></product>\n")
        vectors = "".join(
            f"<calibrationVector><azimuthTime>2024-11-02T17:01:15</azimuthTime><line>{c}"
            f'</line><pixel count="{len(cal_pix)}">{_vec(cal_pix)}</pixel>'
            f'<sigmaNought count="{len(cal_pix)}">'
            f"{_vec([480.0 + 0.4 * p + 0.1 * c for p in cal_pix])}</sigmaNought>"
            f'<betaNought count="{len(cal_pix)}">{_vec([470.0] * len(cal_pix))}</betaNought>'
            f'<gamma count="{len(cal_pix)}">{_vec([500.0] * len(cal_pix))}</gamma>'
            f'<dn count="{len(cal_pix)}">{_vec([470.0] * len(cal_pix))}</dn>'
            "</calibrationVector>" for c in cal_lines)
        (safe / cal).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<calibration><adsHeader><polarisation>'
            f"{pol.upper()}</polarisation></adsHeader><calibrationInformation>"
            "<absoluteCalibrationConstant>1.0</absoluteCalibrationConstant>"
            f'</calibrationInformation><calibrationVectorList count="{len(cal_lines)}">'
            f"{vectors}</calibrationVectorList></calibration>\n")
        rvec = "".join(
            f"<noiseRangeVector><azimuthTime>2024-11-02T17:01:15</azimuthTime><line>{c}"
            f'</line><pixel count="{len(cal_pix)}">{_vec(cal_pix)}</pixel>'
            f'<noiseRangeLut count="{len(cal_pix)}">'
            + _vec([10 ** (-28 / 10) * (480.0 + 0.4 * p + 0.1 * c) ** 2
                    * (0.8 + 0.4 * p / pixels) for p in cal_pix])
            + "</noiseRangeLut></noiseRangeVector>" for c in cal_lines)
        (safe / noi).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<noise><adsHeader><polarisation>'
            f"{pol.upper()}</polarisation></adsHeader>"
            f'<noiseRangeVectorList count="{len(cal_lines)}">{rvec}</noiseRangeVectorList>'
            '<noiseAzimuthVectorList count="1"><noiseAzimuthVector><swath>IW1</swath>'
            f"<firstAzimuthLine>0</firstAzimuthLine><firstRangeSample>0</firstRangeSample>"
            f"<lastAzimuthLine>{lines - 1}</lastAzimuthLine><lastRangeSample>{pixels - 1}"
            f'</lastRangeSample><line count="2">0 {lines - 1}</line>'
            '<noiseAzimuthLut count="2">1.0 1.0</noiseAzimuthLut></noiseAzimuthVector>'
            "</noiseAzimuthVectorList></noise>\n")
        gcps = [GroundControlPoint(row=float(a), col=float(b), x=float(lo), y=float(la), z=0.0)
                for a, b, la, lo in zip(gl.ravel(), gp.ravel(), glat.ravel(), glon.ravel(),
                                        strict=True)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # GCPs come next
            with rasterio.open(safe / mea, "w", driver="GTiff", width=pixels, height=lines,
                               count=1, dtype="uint16") as dst:
                dst.write(np.clip(np.round(dn), 0, 65535).astype("uint16"), 1)
                dst.gcps = (gcps, "EPSG:4326")
    objects = "".join(
        f'<dataObject ID="obj{i}" repID="s1Level1Schema"><byteStream mimeType="text/xml" '
        f'size="1"><fileLocation locatorType="URL" href="./{f}"/><checksum '
        f'checksumName="MD5">0</checksum></byteStream></dataObject>'
        for i, f in enumerate(files))
    (safe / "manifest.safe").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"'
        ' xmlns:safe="http://www.esa.int/safe/sentinel-1.0" xmlns:s1sarl1='
        '"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1"><metadataSection>'
        '<metadataObject ID="generalProductInformation" classification="DESCRIPTION" '
        'category="DMD"><metadataWrap mimeType="text/xml" vocabularyName="SAFE"><xmlData>'
        "<s1sarl1:standAloneProductInformation><s1sarl1:productClass>S</s1sarl1:productClass>"
        "<s1sarl1:productType>GRD</s1sarl1:productType>"
        + "".join(f"<s1sarl1:transmitterReceiverPolarisation>{p.upper()}"
                  "</s1sarl1:transmitterReceiverPolarisation>" for p in pols)
        + "</s1sarl1:standAloneProductInformation></xmlData></metadataWrap></metadataObject>"
        f"</metadataSection><dataObjectSection>{objects}</dataObjectSection></xfdu:XFDU>\n")
    return safe


def make_s2_l2a_granule(folder: Path, *, baseline: str = "05.10", offset: int = -1000,
                        water_cols: int = 20, cloud_rows: slice = slice(40, 50),
                        with_scl: bool = True, west: float = 500_000.0,
                        north: float = 6_300_600.0, n10: int = 120) -> Path:
    """An L2A product folder (see module docstring); returns its ``.SAFE`` path."""
    safe = Path(folder) / "S2B_MSIL2A_20241103T103149_N0511_R108_T32VNJ_20241103T120000.SAFE"
    gran = safe / "GRANULE" / "L2A_T32VNJ_A039000_20241103T103148"
    r10, r20 = gran / "IMG_DATA" / "R10m", gran / "IMG_DATA" / "R20m"
    r10.mkdir(parents=True)
    r20.mkdir(parents=True)
    stem = "T32VNJ_20241103T103149"
    (safe / "MTD_MSIL2A.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<n1:Level-2A_User_Product xmlns:n1='
        '"https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">'
        "<n1:General_Info><Product_Info><PRODUCT_START_TIME>2024-11-03T10:31:49.024Z"
        "</PRODUCT_START_TIME><PROCESSING_BASELINE>" + baseline + "</PROCESSING_BASELINE>"
        "<PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE></Product_Info><Product_Image_Characteristics>"
        "<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit=\"none\">10000"
        "</BOA_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>"
        "<BOA_ADD_OFFSET_VALUES_LIST>"
        + "".join(f'<BOA_ADD_OFFSET band_id="{b}">{offset}</BOA_ADD_OFFSET>'
                  for b in range(13))
        + "</BOA_ADD_OFFSET_VALUES_LIST></Product_Image_Characteristics></n1:General_Info>"
        "</n1:Level-2A_User_Product>\n")
    add = -offset if offset else 0
    n20 = n10 // 2
    green = np.full((n10, n10), 500 + add, "uint16")         # ρ 0.05
    swir = np.full((n20, n20), 2000 + add, "uint16")         # ρ 0.20 on land
    swir[:, : water_cols // 2] = 100 + add                   # ρ 0.01 on water
    scl = np.full((n20, n20), 4, "uint8")                    # vegetation
    scl[:, : water_cols // 2] = 6                            # water
    scl[cloud_rows.start // 2: cloud_rows.stop // 2] = 9     # cloud, high probability
    ext = "jp2" if "JP2OpenJPEG" in rasterio.drivers.raster_driver_extensions().values() \
        else "tif"

    def write(path: Path, values: np.ndarray, res: float) -> None:
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="GTiff", width=values.shape[1], height=values.shape[0],
                          count=1, dtype=values.dtype, crs="EPSG:32632",
                          transform=from_origin(west, north, res, res)) as tmp:
                tmp.write(values, 1)
            with mem.open() as src:
                kw = {"driver": "JP2OpenJPEG", "QUALITY": "100", "REVERSIBLE": "YES"} \
                    if ext == "jp2" else {"driver": "GTiff"}
                rasterio.shutil.copy(src, path, **kw)

    write(r10 / f"{stem}_B03_10m.{ext}", green, 10.0)
    write(r20 / f"{stem}_B11_20m.{ext}", swir, 20.0)
    if with_scl:
        write(r20 / f"{stem}_SCL_20m.{ext}", scl, 20.0)
    files = ["MTD_MSIL2A.xml"] + [str(p.relative_to(safe)) for p in sorted(gran.rglob("*.*"))]
    objects = "".join(
        f'<dataObject ID="IMG_{i}"><byteStream mimeType="application/octet-stream" size="1">'
        f'<fileLocation locatorType="URL" href="./{f}"/><checksum checksumName="SHA3-256">0'
        "</checksum></byteStream></dataObject>" for i, f in enumerate(files))
    (safe / "manifest.safe").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"'
        f' version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product">'
        f"<dataObjectSection>{objects}</dataObjectSection></xfdu:XFDU>\n")
    return safe
