"""The submodels of one cluster step, one file each (docs/ODD.md section 7 names each file).

Each module holds its rule (the module docstring, with the equations), its
compiled loop(s) and the function(s) the step calls, ``f(model, ctx)``, with
``ctx`` the step's :class:`~sim.context.StepContext`. The order in which the
step calls them is written once, in ``sim.model.STEP``.
"""
