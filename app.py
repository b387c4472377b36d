"""clustercoop in the browser: watch a run, move the levers, compare two scenarios.

Start with ``python run.py viz`` (or ``viz.server.serve()``), which runs
``solara run app.py`` with the settings that keep the page offline. Three pages:
``/`` watches one run, ``/compare`` overlays two scenarios run with the same seeds,
``/results`` opens a sweep, comparison, run or calibration folder.
"""

import solara

from viz.compare_page import ComparePage
from viz.results_page import ResultsPage
from viz.run_page import RunPage


@solara.component
def Layout(children=[]):
    """Solara's app layout with the page tabs named by their route labels (its own tabs say "Home")."""
    route, siblings = solara.use_route()
    router = solara.use_router()
    paths = [solara.resolve_path(r, level=0) for r in siblings]
    with solara.AppLayout(children=children):
        with solara.AppBar():
            with solara.lab.Tabs(value=siblings.index(route) if route in siblings else None,
                                 on_value=lambda i: router.push(paths[i]), align="center"):
                for r in siblings:
                    solara.lab.Tab(r.label, classes=["cc-page-tab"])


# the root route's layout wraps every page (a module-level Layout is ignored once routes are given)
routes = [
    solara.Route(path="/", component=RunPage, label="Run", layout=Layout),
    solara.Route(path="compare", component=ComparePage, label="Compare"),
    solara.Route(path="results", component=ResultsPage, label="Results"),
]
