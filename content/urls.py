from django.urls import path

from content import views

app_name = "content"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("gallery/", views.gallery_view, name="gallery"),
    path("images/", views.image_index, name="images"),
    path("images/upload/", views.image_upload, name="image_upload"),
    path("images/<int:image_id>/delete/", views.image_delete, name="image_delete"),
    path("gallery/frame/", views.gallery_frame, name="gallery_frame"),
    path("<int:template_id>/", views.edit, name="edit"),
    path("<int:template_id>/duplicate/", views.duplicate, name="duplicate"),
    path("<int:template_id>/delete/", views.delete, name="delete"),
    path("<int:template_id>/preview/", views.preview, name="preview"),
    path("<int:template_id>/preview/frame/", views.preview_frame, name="preview_frame"),
    path("<int:template_id>/blocks/add/", views.block_add, name="block_add"),
    path("<int:template_id>/blocks/<int:block>/", views.block_edit, name="block_edit"),
    path("<int:template_id>/blocks/<int:block>/move/", views.block_move, name="block_move"),
    path("<int:template_id>/blocks/<int:block>/delete/", views.block_delete, name="block_delete"),
    path("<int:template_id>/to-code/", views.to_code, name="to_code"),
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
