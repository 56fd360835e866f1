"""sdkgen: generates the eSMS Zalo SDK (generated/) from spec/esms-zalo.openapi.yaml.

Models come from datamodel-code-generator; everything else is rendered from the Jinja templates
in sdkgen/templates with facts derived from the spec (see operations.py and codes.py).
"""
