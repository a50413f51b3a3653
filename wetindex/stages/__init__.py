"""The stages of a run, one module each, and the run that chains them.

=================  ===========================================================
``context``        :class:`AreaContext` (config, project root, output folders) and
                   :func:`artifact_key`, the content key of reusable outputs
``inputs``         the area's inputs (demo world, local files, live sources), their
                   content key, the latest issue time, the drivers' freshness
``static``         static terrain features, once per area and inputs (Zarr)
``train``          training, hold-out evaluation, a new model version
``model_card``     the model card's Markdown
``forecast``       48 h of probabilities, levels and warnings from an issue time
``products``       a forecast's products in memory and on disk (write, load, status)
``publish``        the CAP feed, then a new site release
``alerts``         alerts for the stored subscribers, then delivery
``cluster``        the Dask client and chunked prediction on it
``run``            :class:`AreaRun`: the stages on demand, resuming what is done
``status``         an area's health (``wetindex status``)
``housekeeping``   old forecasts, unused downloads, pending deliveries
=================  ===========================================================

Prefect flows (``pipelines/``), the CLI and the notebooks call these; each stage
reads its inputs from and writes its outputs to the area's folder, written under a
temporary name and switched in (:mod:`wetindex.atomicdir`), so a crash never leaves
a half-written output visible and a rerun resumes from what is done.

Layout of an area's folder (``var/<area>/``)::

    world/<key>/       the demo world (demo areas only), keyed by its configuration
    static/<key>.zarr  static terrain features, keyed by the inputs' hash
    forecasts/<issue>/ forecast.nc, geotiff/, warnings.geojson, status.json, config.yaml
    site/              releases/<stamp>/ and the 'current' symlink
    feed/              CAP 1.2 messages and atom.xml
    alerts/            outbox.sqlite, mail/ (what the demo mail server received)

This package imports none of its modules here, so importing one stage does not import
them all.
"""
