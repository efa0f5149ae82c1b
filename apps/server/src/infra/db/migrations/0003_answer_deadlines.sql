ALTER TABLE "answers" ADD COLUMN "prep_ends_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "answers" ADD COLUMN "answer_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "answers" ADD COLUMN "answer_ends_at" timestamp with time zone;