"""REST API of the catalogue under /api/v1/catalog/, named after TM Forum TMF620 where it fits.

Every logged-in role reads every resource; operators and admins write (core.roles). Writes call
one ``catalog.services`` function each with ``acting_user=request.user``; a rule the service
refuses is a 400 whose ``fieldErrors`` name the JSON fields (camelCase), never a 500. A
published or retired rate card, plan version, add-on or promotion never changes: editing one
is a 400 that says to clone it.

Resources:

- ``productOffering`` (read only): a plan VERSION as sold, with its prices, allowances and fair
  use; ``validFor`` ends where the next published version of the plan starts.
- ``plan`` (header and its versions), ``plan/{id}/versionAt?instant=`` (the offering in force).
- ``planVersion``: drafts are created and edited here, then ``publish``, ``retire``, ``clone``.
- ``productOfferingPrice``: usage prices, i.e. rate rows, each on its ``rateCard``; rows are
  written only while their card is a draft.
- ``rateCard`` (``publish``, ``retire``, ``clone``), ``zoneTable`` (with ``lookup``), ``zone``,
  ``timeBandSet``, ``timeBand``, ``taxRegion``, ``taxRate``, ``taxCategory``, ``brand``,
  ``hostNetwork`` (with ``tariff``), ``allowance``, ``fairUsePolicy``, ``promotion``.
- ``addOn``: add-ons are a resource of their own rather than productOfferings of @type
  "AddOnOffering": they are not versioned (one row, edited as a draft, then published), so
  they share neither ids nor lifecycle with plan versions. A productOffering lists the
  published add-ons sold with its plan under ``addOn``.
"""

from catalog.api.views.offerings import (
    AddOnViewSet,
    AllowanceViewSet,
    FairUsePolicyViewSet,
    PlanVersionViewSet,
    PlanViewSet,
    ProductOfferingViewSet,
    PromotionViewSet,
)
from catalog.api.views.pricing import ProductOfferingPriceViewSet, RateCardViewSet
from catalog.api.views.reference import (
    BrandViewSet,
    HostNetworkViewSet,
    TaxCategoryViewSet,
    TaxRateViewSet,
    TaxRegionViewSet,
    TimeBandSetViewSet,
    TimeBandViewSet,
    ZoneTableViewSet,
    ZoneViewSet,
)

__all__ = [
    "AddOnViewSet",
    "AllowanceViewSet",
    "BrandViewSet",
    "FairUsePolicyViewSet",
    "HostNetworkViewSet",
    "PlanVersionViewSet",
    "PlanViewSet",
    "ProductOfferingPriceViewSet",
    "ProductOfferingViewSet",
    "PromotionViewSet",
    "RateCardViewSet",
    "TaxCategoryViewSet",
    "TaxRateViewSet",
    "TaxRegionViewSet",
    "TimeBandSetViewSet",
    "TimeBandViewSet",
    "ZoneTableViewSet",
    "ZoneViewSet",
]
