"""SNS behaviour that moto does not reproduce."""

# Subscriptions AWS confirms only when the endpoint's owner follows the link
# it mails; no test ever does. Moto confirms them at once.
CONFIRMED_BY_A_PERSON = ("email", "email-json")


def install_pending_confirmation(client) -> None:
    """E-mail subscriptions on client stay pending, as AWS keeps them until confirmed.

    Subscribe then answers "pending confirmation" instead of an ARN, and
    ListSubscriptionsByTopic shows "PendingConfirmation" in the ARN's place.
    """

    def remember(params, context, **_):
        context["needs_a_person"] = params["Protocol"] in CONFIRMED_BY_A_PERSON
        context["wants_arn"] = bool(params.get("ReturnSubscriptionArn"))

    def subscribed(parsed, context, **_):
        if context.get("needs_a_person") and not context.get("wants_arn"):
            parsed["SubscriptionArn"] = "pending confirmation"

    def listed(parsed, **_):
        for subscription in parsed.get("Subscriptions", ()):
            if subscription["Protocol"] in CONFIRMED_BY_A_PERSON:
                subscription["SubscriptionArn"] = "PendingConfirmation"

    client.meta.events.register("provide-client-params.sns.Subscribe", remember)
    client.meta.events.register("after-call.sns.Subscribe", subscribed)
    client.meta.events.register("after-call.sns.ListSubscriptionsByTopic", listed)
    client.meta.events.register("after-call.sns.ListSubscriptions", listed)
