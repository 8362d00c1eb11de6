-- The dashboard's recent failures count the receipts that reported one (issue 11): only those, in time order.
CREATE INDEX receipts_failed ON receipts (received_at, message_id) WHERE outcome = 'failed';
