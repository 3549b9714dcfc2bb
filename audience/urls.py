from django.urls import path

from audience import views

app_name = "audience"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.recipient_create, name="recipient_create"),
    path("bulk/", views.bulk, name="bulk"),
    path("export/", views.export, name="export"),
    path("<int:recipient_id>/", views.recipient_detail, name="recipient_detail"),
    path("<int:recipient_id>/delete/", views.recipient_delete, name="recipient_delete"),
    path("<int:recipient_id>/data/", views.recipient_data, name="recipient_data"),
    path("<int:recipient_id>/erase/", views.recipient_erase, name="recipient_erase"),
    path("import/", views.import_upload, name="import"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/progress/", views.job_progress, name="job_progress"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/rejected.csv", views.job_rejections, name="job_rejections"),
    path("lists/", views.lists, name="lists"),
    path("lists/<int:list_id>/", views.list_detail, name="list_detail"),
    path("lists/<int:list_id>/delete/", views.list_delete, name="list_delete"),
    path("segments/", views.segments, name="segments"),
    path("segments/new/", views.segment_edit, name="segment_create"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<int:segment_id>/", views.segment_edit, name="segment_detail"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="segment_delete"),
    path("fields/", views.fields, name="fields"),
    path("fields/<int:field_id>/", views.field_detail, name="field_detail"),
    path("fields/<int:field_id>/delete/", views.field_delete, name="field_delete"),
    path("suppression/", views.suppression, name="suppression"),
    path("suppression/import/", views.suppression_import, name="suppression_import"),
    path(
        "suppression/<int:suppression_id>/delete/",
        views.suppression_delete,
        name="suppression_delete",
    ),
]
