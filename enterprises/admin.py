"""Django admin for the register: a read-mostly view for city administrators.

Rectifications and relapses are read-only here: they change counts and must go through
enterprises.services (the register pages), which keep a unit's periods consistent.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Enterprise, Rectification, RectificationPhoto, Relapse
from .services import same_unit


class EnterpriseAdminForm(forms.ModelForm):
    """The admin refuses a unit the register holds already, as the unit form does (SPEC 3 identity).
    The admin supplies the model and the fields (modelform_factory)."""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("township") is None or not cleaned.get("name"):
            return cleaned
        candidate = Enterprise(
            pk=self.instance.pk,
            township=cleaned["township"],
            name=(cleaned.get("name") or "").strip(),
            address=(cleaned.get("address") or "").strip(),
            credit_code=(cleaned.get("credit_code") or "").strip().upper(),
        )
        clash = same_unit(candidate)
        if clash is not None:
            raise forms.ValidationError(
                _("系统中已登记同一单位：%(name)s（编号%(pk)s），不能重复登记"),
                params={"name": clash.name, "pk": clash.pk},
                code="duplicate",
            )
        return cleaned


class RectificationInline(admin.TabularInline):
    model = Rectification
    extra = 0
    can_delete = False
    fields = ["method", "rectified_on", "demolished_m2", "reopened_on", "note", "created_by", "created_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    form = EnterpriseAdminForm
    list_display = ["name", "township", "village", "identified_on", "source", "status", "deleted_at"]
    list_filter = ["status", "source", "township", "unlicensed", "unsafe", "no_legal_premises", "no_env_measures"]
    search_fields = ["name", "address", "credit_code", "owner"]
    date_hierarchy = "identified_on"
    list_select_related = ["township", "village"]
    raw_id_fields = ["village"]
    readonly_fields = ["status", "created_at", "updated_at", "created_by", "version"]
    inlines = [RectificationInline]

    def has_delete_permission(self, request, obj=None):
        # Nothing is hard-deleted (SPEC 4); a unit is retired by setting deleted_at.
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        else:
            # Every write to a unit moves its version on, so an edit form open elsewhere is refused
            # instead of overwriting this change (admin views already run in a transaction).
            current = Enterprise.objects.select_for_update().only("version").get(pk=obj.pk)
            obj.version = current.version + 1
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Rectification)
class RectificationAdmin(ReadOnlyAdmin):
    list_display = ["enterprise", "method", "rectified_on", "demolished_m2", "reopened_on", "created_by"]
    list_filter = ["method"]
    list_select_related = ["enterprise", "created_by"]
    search_fields = ["enterprise__name"]
    date_hierarchy = "rectified_on"


@admin.register(Relapse)
class RelapseAdmin(ReadOnlyAdmin):
    list_display = ["enterprise", "found_on", "created_by"]
    list_select_related = ["enterprise", "created_by"]
    search_fields = ["enterprise__name"]


@admin.register(RectificationPhoto)
class RectificationPhotoAdmin(ReadOnlyAdmin):
    list_display = ["rectification", "width", "height", "uploaded_at", "uploaded_by"]
    list_select_related = ["rectification__enterprise", "uploaded_by"]
