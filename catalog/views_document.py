"""Console pages of catalogue documents: export (download or show) and import (preview, then do)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.views import View

from catalog.document import (
    EXPORT_PERMISSION,
    IMPORT_PERMISSION,
    MAX_DOCUMENT_BYTES,
    MEDIA_TYPES,
    CatalogDocumentError,
    catalog_export,
    catalog_import,
    document_dump,
    document_load,
    format_of,
)
from catalog.models import Plan
from catalog.selectors import require_every_brand

FORMAT_CHOICES = [("yaml", "YAML"), ("json", "JSON")]


class CatalogExportForm(forms.Form):
    plan = forms.ChoiceField(
        required=False,
        label="Export",
        help_text="one plan comes with what it needs: brand, taxes, zones, bands, rate cards, "
        "and the add-ons and promotions offered only to it",
    )
    format = forms.ChoiceField(choices=FORMAT_CHOICES, initial="yaml")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plans = Plan.objects.order_by("code").values_list("code", "name")
        self.fields["plan"].choices = [("", "the whole catalogue")] + [
            (code, f"plan {code} — {name}") for code, name in plans
        ]


class CatalogImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="a .yaml, .yml or .json catalogue document")
    text = forms.CharField(
        required=False,
        label="or paste the document",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )
    format = forms.ChoiceField(
        required=False,
        choices=[("", "from the file name (YAML also reads JSON)"), *FORMAT_CHOICES],
    )

    def clean(self):
        data = super().clean()
        upload, text = data.get("file"), data.get("text") or ""
        if upload is not None:
            if upload.size > MAX_DOCUMENT_BYTES:
                raise ValidationError(f"the file is larger than {MAX_DOCUMENT_BYTES} bytes")
            raw = upload.read()
            try:
                data["document"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise ValidationError("the file is not UTF-8 text") from error
            data["format"] = data.get("format") or format_of(upload.name, upload.content_type)
        elif text.strip():
            data["document"] = text
        else:
            raise ValidationError("choose a file or paste a document")
        return data


class CatalogExportView(PermissionRequiredMixin, View):
    """Download the catalogue, or one plan, as YAML or JSON; or show it on the page."""

    permission_required = EXPORT_PERMISSION
    raise_exception = True
    template_name = "catalog/document_export.html"

    def get(self, request):
        require_every_brand(request.user, "the catalogue document")
        form = CatalogExportForm(request.GET or None)
        context = {"form": form, "title": "Export the catalogue"}
        if form.is_bound and form.is_valid():
            plan, format = form.cleaned_data["plan"], form.cleaned_data["format"]
            try:
                document = catalog_export(plans=[plan] if plan else None)
            except Plan.DoesNotExist as error:
                form.add_error("plan", str(error))
            else:
                text = document_dump(document, format)
                filename = f"catalog-{plan}.{format}" if plan else f"catalog.{format}"
                if request.GET.get("download"):
                    response = HttpResponse(
                        text, content_type=f"{MEDIA_TYPES[format]}; charset=utf-8"
                    )
                    response["Content-Disposition"] = f'attachment; filename="{filename}"'
                    return response
                context.update(preview=text, filename=filename)
        context["can_import"] = request.user.has_perm(IMPORT_PERMISSION)
        return render(request, self.template_name, context)


class CatalogImportView(PermissionRequiredMixin, View):
    """Upload a document, see what it would change (a dry run), then import it."""

    permission_required = IMPORT_PERMISSION
    raise_exception = True
    template_name = "catalog/document_import.html"

    def get(self, request):
        require_every_brand(request.user, "the catalogue document")
        return self._render(CatalogImportForm())

    def post(self, request):
        require_every_brand(request.user, "the catalogue document")
        form = CatalogImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form)
        confirmed = request.POST.get("action") == "import"
        text, format = form.cleaned_data["document"], form.cleaned_data["format"] or None
        try:
            document = document_load(text, format=format)
            summary = catalog_import(
                document=document, acting_user=request.user, dry_run=not confirmed
            )
        except CatalogDocumentError as error:
            return self._render(form, errors=error.errors)
        if confirmed:
            messages.success(request, f"Catalogue imported: {summary}.")
            return self._render(CatalogImportForm(), summary=summary, imported=True)
        return self._render(form, summary=summary, document=text, format=format or "")

    def _render(self, form, **context):
        context.update(form=form, title="Import a catalogue document")
        return render(self.request, self.template_name, context)
