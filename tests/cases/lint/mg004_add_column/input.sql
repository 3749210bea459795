ALTER TABLE memories ADD COLUMN embedding BLOB;
ALTER TABLE memories ADD score REAL NOT NULL DEFAULT 0;
alter table "memories" add column "quoted col" text;
