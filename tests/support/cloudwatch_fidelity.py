"""CloudWatch behaviour that moto does not reproduce."""

# What PutDashboard accepts, from the CloudWatch API reference ("Dashboard Body
# Structure and Syntax"). Moto stores any JSON; AWS answers anything else with
# InvalidParameterInput and its DashboardValidationMessages.
PUT_DASHBOARD_BODY = {
    "type": "object",
    "required": ["widgets"],
    "properties": {
        "start": {"type": "string"},
        "end": {"type": "string"},
        "periodOverride": {"enum": ["auto", "inherit"]},
        "widgets": {
            "type": "array",
            "maxItems": 500,
            "items": {
                "type": "object",
                "required": ["type", "properties"],
                "properties": {
                    "type": {"enum": ["metric", "text", "log", "alarm", "explorer", "custom"]},
                    "x": {"type": "integer", "minimum": 0, "maximum": 23},
                    "y": {"type": "integer", "minimum": 0},
                    "width": {"type": "integer", "minimum": 1, "maximum": 24},
                    "height": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "properties": {"type": "object"},
                },
                "if": {"properties": {"type": {"const": "metric"}}},
                "then": {"properties": {"properties": {"required": ["region"]}}},
            },
        },
    },
}
