-- Who asked for each flow, for the limits and for supersession (issue 15):
-- `requester` is the requester's limit key (an IPv4 address, an IPv6 /64),
-- `send_address` the inbox the mail lands in (`ada+1@` is `ada@`), `domain`
-- the recipient domain, and `known_requester` whether the requester held
-- one of the account's sessions in the 30 days before (it then has a budget
-- of its own, outside the address's total).
--
-- Flows from before this change have no requester: they count toward the
-- totals, never toward one requester's budget, and no new flow supersedes them.
ALTER TABLE flows ADD COLUMN requester TEXT NOT NULL DEFAULT '';
ALTER TABLE flows ADD COLUMN send_address TEXT NOT NULL DEFAULT '';
ALTER TABLE flows ADD COLUMN domain TEXT NOT NULL DEFAULT '';
ALTER TABLE flows ADD COLUMN known_requester INTEGER NOT NULL DEFAULT 0;
UPDATE flows SET send_address = email, domain = substr(email, instr(email, '@') + 1);
CREATE INDEX flows_by_send_address ON flows (send_address, created_at);
CREATE INDEX flows_by_requester_domain ON flows (requester, domain, created_at);
CREATE INDEX flows_by_time ON flows (created_at);
