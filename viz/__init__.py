"""Browser app for clustercoop: Solara components, figures and offline serving.

``app.py`` at the repository top is the Solara page; this package holds what it
is built from, split so the page logic can be tested without a browser:

- ``session``: scenario listing, model building and stepping, the KPI numbers, exports (no Solara);
  ``levers``: the levers and a lever moved mid-run as an event; ``comparison``: the compare page's runs and numbers.
- ``results``: the results page's logic (result and calibration folders, tables, figures; no Solara).
- ``figures``: matplotlib figures (network view, KPIs, Morgan-Hunt, compare).
- ``run_page`` (with its panels in ``run_panels``), ``compare_page``, ``results_page``: one module per page;
  ``widgets``: what the pages share (drawing in the background, tables).
- ``server``: starts ``solara run app.py`` with the offline settings; ``browser``: the headless Chromium
  that the screenshots, the app benchmark and the browser test drive.
"""
