-- nothing here yet; a migration may start empty
/* not even ; this */
