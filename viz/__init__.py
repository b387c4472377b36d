"""Browser app for clustercoop: Solara components, figures and offline serving.

``app.py`` at the repository top is the Solara page; this package holds what it
is built from, split so the page logic can be tested without a browser:

- ``session``: scenario listing, levers, model building, exports (no Solara).
- ``figures``: matplotlib figures (network view, KPIs, Morgan-Hunt, compare).
- ``components``: the Solara components of the run and compare pages.
- ``server``: starts ``solara run app.py`` with the offline settings.
"""
