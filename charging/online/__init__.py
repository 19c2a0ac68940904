"""Online charging for prepaid and hybrid subscribers (R20-R23).

One service (``charging.online.services``) reserves, commits and releases units and money for
charging sessions; front doors (the 5G CHF's Nchf_ConvergedCharging in ``charging.online.nchf``)
translate a host network's protocol to it. Prices come from the same rating engine as usage
files (charging.engine.RatingEngine, R23).
"""
