"""{{ unit.owner|mask_name }} and {{ unit.phone|mask_phone }}: personal data as lists show it."""

from django import template

from enterprises import masking

register = template.Library()


@register.filter
def mask_name(value):
    return masking.mask_name(value)


@register.filter
def mask_phone(value):
    return masking.mask_phone(value)
