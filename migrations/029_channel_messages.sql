-- 029 channel message storage
-- Messages as they crossed the channel (inbound and outbound), with delivery state.

CREATE TABLE IF NOT EXISTS channel_messages (
    id                  INTEGER PRIMARY KEY,
    channel_session_id  TEXT NOT NULL REFERENCES channel_sessions(id) ON DELETE CASCADE,
    direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    external_message_id TEXT,
    sender              TEXT,
    body                TEXT NOT NULL DEFAULT '',
    attachments         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(attachments)),
    turn_id             INTEGER REFERENCES turns(id) ON DELETE SET NULL,
    delivery_status     TEXT NOT NULL DEFAULT 'received'
                        CHECK (delivery_status IN ('received', 'queued', 'sent', 'delivered', 'failed')),
    created_at          TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_channel_messages_session ON channel_messages(channel_session_id, created_at);
-- Webhooks redeliver: an external message id is stored once per conversation.
CREATE UNIQUE INDEX IF NOT EXISTS ux_channel_messages_external
    ON channel_messages(channel_session_id, external_message_id) WHERE external_message_id IS NOT NULL;
-- The outbox: messages still to be sent or retried.
CREATE INDEX IF NOT EXISTS idx_channel_messages_outbox ON channel_messages(created_at)
    WHERE delivery_status IN ('queued', 'failed');

CREATE TRIGGER IF NOT EXISTS trg_channel_messages_touch AFTER INSERT ON channel_messages
BEGIN
    UPDATE channel_sessions
       SET last_activity_at = NEW.created_at, status = 'open'
     WHERE id = NEW.channel_session_id;
END;
