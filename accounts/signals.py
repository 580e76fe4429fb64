"""What accounts tells other apps, without importing them.

`account_closing` is sent inside that transaction, with `user` (its row locked, not yet
anonymised), before anything is erased: an app that must refuse the closing (a ride under
way) raises a domain error (core.exceptions) in its receiver, and nothing changes.

`account_closed` is sent inside the transaction that anonymises a closed account (in
`accounts.services.delete_account`), with `user` (already anonymised) and `email` (the
address it had). Each app that keeps personal data of a person erases it in a receiver
(e.g. `payments.privacy`), so nothing is half erased: a receiver that fails rolls the
closing back.
"""

from django.dispatch import Signal

account_closing = Signal()
account_closed = Signal()
