"""The three operating mechanisms of cluster marketing (003 section 3.3).

Each is a module of vectorized functions over the model's state:
``function_interest`` (joint marketing as a public good), ``regulation``
(association rules and cluster culture) and ``contract`` (bilateral contracts).
"""
