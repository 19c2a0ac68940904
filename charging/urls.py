"""Console URLs of the charging."""

from django.urls import path

from charging.views import files, online, rerating, simulator, usage

app_name = "charging"

urlpatterns: list = [
    # usage files and what they brought in
    path("files/", files.UsageFileListView.as_view(), name="usagefile-list"),
    path("files/upload/", files.UsageFileUploadView.as_view(), name="usagefile-create"),
    path("files/<int:pk>/", files.UsageFileDetailView.as_view(), name="usagefile-detail"),
    path("files/<int:pk>/retry/", files.UsageFileRetryView.as_view(), name="usagefile-retry"),
    path(
        "files/<int:pk>/retry-parts/",
        files.UsageFileRetryPartsView.as_view(),
        name="usagefile-retry-parts",
    ),
    path(
        "files/<int:pk>/download/",
        files.UsageFileDownloadView.as_view(),
        name="usagefile-download",
    ),
    # files that never arrived
    path("gaps/", files.SequenceGapListView.as_view(), name="sequencegap-list"),
    # rejected records: correct and reprocess, or discard
    path("rejected/", files.RejectedRecordListView.as_view(), name="rejectedrecord-list"),
    path(
        "rejected/<int:pk>/",
        files.RejectedRecordDetailView.as_view(),
        name="rejectedrecord-detail",
    ),
    path(
        "rejected/<int:pk>/reprocess/",
        files.RejectedRecordReprocessView.as_view(),
        name="rejectedrecord-reprocess",
    ),
    path(
        "rejected/<int:pk>/discard/",
        files.RejectedRecordDiscardView.as_view(),
        name="rejectedrecord-discard",
    ),
    # the rating error queue
    path("errors/", usage.ErrorQueueView.as_view(), name="usageevent-errors"),
    path("errors/rerate/", usage.ErrorQueueRerateView.as_view(), name="usageevent-errors-rerate"),
    # usage events and how each was priced
    path("usage/", usage.UsageEventListView.as_view(), name="usageevent-list"),
    path("usage/<int:pk>/", usage.UsageEventDetailView.as_view(), name="usageevent-detail"),
    # online charging: sessions, their reservations, a forced release (R20-R22)
    path("sessions/", online.ChargingSessionListView.as_view(), name="chargingsession-list"),
    path(
        "sessions/<int:pk>/",
        online.ChargingSessionDetailView.as_view(),
        name="chargingsession-detail",
    ),
    path(
        "sessions/<int:pk>/release/",
        online.ChargingSessionReleaseView.as_view(),
        name="chargingsession-release",
    ),
    # the rating simulator
    path("simulator/", simulator.SimulatorView.as_view(), name="simulator"),
    # rerating (R15)
    path("rerating/", rerating.RerateJobListView.as_view(), name="reratejob-list"),
    path("rerating/new/", rerating.RerateJobCreateView.as_view(), name="reratejob-create"),
    path("rerating/<int:pk>/", rerating.RerateJobDetailView.as_view(), name="reratejob-detail"),
]
