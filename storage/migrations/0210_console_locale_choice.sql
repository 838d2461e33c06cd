-- Console language (issue 17): whether the account's language was chosen by
-- its user (the language switch, or the sign-in page's), as opposed to the
-- default given when the account was made. A chosen language follows the
-- user to every device; an unchosen default yields to what the browser asks.
ALTER TABLE users ADD COLUMN IF NOT EXISTS locale_chosen boolean NOT NULL DEFAULT false;
