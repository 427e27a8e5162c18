"""The form renderer: Django's widget templates through Jinja2, anything else through Django's engine.

Jinja2 renders the project's form widgets at a third of the Django template engine's cost (the
register's filter form, the unit forms). Widgets whose templates exist only for Django's engine,
the admin's (``admin/widgets/…``) among them, are rendered by it instead of failing.
"""

from functools import cached_property

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template.exceptions import TemplateDoesNotExist


class Renderer(Jinja2):
    @cached_property
    def fallback(self):
        return DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.fallback.get_template(template_name)
