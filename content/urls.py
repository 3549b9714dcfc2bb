from django.urls import path

from content import views

app_name = "content"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("gallery/", views.gallery_view, name="gallery"),
    path("gallery/frame/", views.gallery_frame, name="gallery_frame"),
    path("<int:template_id>/", views.edit, name="edit"),
    path("<int:template_id>/duplicate/", views.duplicate, name="duplicate"),
    path("<int:template_id>/delete/", views.delete, name="delete"),
    path("<int:template_id>/preview/", views.preview, name="preview"),
    path("<int:template_id>/preview/frame/", views.preview_frame, name="preview_frame"),
    path("<int:template_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path(
        "<int:template_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path(
        "<int:template_id>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment_delete",
    ),
]
