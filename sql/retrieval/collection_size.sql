SELECT count(*) AS chunks FROM chunks WHERE collection_id = %(collection_id)s AND NOT pending
