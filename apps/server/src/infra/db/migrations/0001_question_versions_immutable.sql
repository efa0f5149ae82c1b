-- A question version is what answers and scores were judged against: editing it would silently
-- rewrite history. Edits insert version n+1; rows may still be deleted (retention, org deletion).
CREATE FUNCTION "question_versions_forbid_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'question versions are immutable; insert a new version instead'
    USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "question_versions_immutable" BEFORE UPDATE ON "question_versions"
  FOR EACH ROW EXECUTE FUNCTION "question_versions_forbid_update"();
