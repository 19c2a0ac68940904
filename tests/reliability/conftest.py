"""What the reliability tests build: the subscribers a usage file of the rating tests reaches."""

from tests.charging.factories import build_rating_catalogue, subscriber_add
from tests.charging.test_properties import OTHERS, TARGETS
from tests.charging.test_scale import family_second
from tests.subscribers.builders import build_golden_subscribers


def lost_worker_world():
    """The rating catalogue, the golden subscribers and those of split_file_lines (committed)."""
    catalogue = build_rating_catalogue()
    build_golden_subscribers(catalogue.golden)
    for plan, msisdn, imsi in (("FAIR-T", TARGETS["FAIR-T"], "262031234500041"),
                               ("FAIR-O", TARGETS["FAIR-O"], "262031234500042"),
                               ("FAMILY", OTHERS[2], "262031234500043")):  # fmt: skip
        subscriber_add(catalogue, plan_code=plan, msisdn=msisdn, imsi=imsi)
    family_second(catalogue)
    return catalogue
