package store

import cv "github.com/parleyhq/parley/internal/conversation"

// LinkClick is a recorded click of a tracked link.
type LinkClick struct {
	Link cv.Link
	// Conversation is the link's conversation after the click (its source names the channel).
	Conversation cv.Conversation
	// Event is the tracked_link event the click added.
	Event cv.Event
}
