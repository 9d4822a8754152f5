"""Voice of the customer: coding, sentiment, assisted coding, reliability, coding sheets."""
