"""clustercoop in the browser: watch a run, move the levers, compare two scenarios.

Start with ``python run.py viz`` (or ``viz.server.serve()``), which runs
``solara run app.py`` with the settings that keep the page offline. Two pages:
``/`` watches one run, ``/compare`` overlays two scenarios run with the same seeds.
"""

import solara

from viz.components import ComparePage, RunPage

routes = [
    solara.Route(path="/", component=RunPage, label="Run"),
    solara.Route(path="compare", component=ComparePage, label="Compare"),
]
