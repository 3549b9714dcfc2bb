from django.contrib import admin

from content.models import LibraryImage, Template, TemplateAttachment


class TemplateAttachmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TemplateAttachment
    extra = 0
    readonly_fields = ("filename", "content_type", "size", "file", "created_at")


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin[Template]):
    # Edits here skip the syntax check of the services: superusers only, for repairs.
    list_display = ("name", "workspace", "subject", "updated_at")
    list_filter = ("text_from_html",)
    search_fields = ("name", "subject", "workspace__name")
    raw_id_fields = ("workspace",)
    inlines = (TemplateAttachmentInline,)


@admin.register(LibraryImage)
class LibraryImageAdmin(admin.ModelAdmin[LibraryImage]):
    list_display = ("name", "workspace", "width", "height", "size", "created_at")
    search_fields = ("name", "digest", "workspace__name")
    raw_id_fields = ("workspace",)
    readonly_fields = ("file", "digest", "extension", "content_type", "width", "height", "size")
