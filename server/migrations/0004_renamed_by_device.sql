-- Who renamed a session, when another session did (issue 15, finding 7):
-- the renaming device's name at the time; NULL when it named itself.
ALTER TABLE sessions ADD COLUMN renamed_by_device TEXT;
