"""URLs of the Nchf_ConvergedCharging front door, mounted at /nchf-convergedcharging/v3/."""

from django.urls import path

from charging.online import nchf

app_name = "nchf"

urlpatterns = [
    path("chargingdata", nchf.charging_data_create, name="chargingdata-create"),
    path(
        "chargingdata/<str:reference>/update",
        nchf.charging_data_update,
        name="chargingdata-update",
    ),
    path(
        "chargingdata/<str:reference>/release",
        nchf.charging_data_release,
        name="chargingdata-release",
    ),
]
