from tests.factories import SubscriptionItemFactory


def test_factories_build_a_paying_account(db: None) -> None:
    item = SubscriptionItemFactory()
    assert item.subscription.account.subscriptions.count() == 1
