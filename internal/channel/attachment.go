package channel

import "encoding/json"

// Attachment is one entry of a channel message's `attachments`: what the visitor sent besides
// text. Type, name, size and mime_type are always there (null when the platform does not
// say); file_id is the platform's own reference to the file (Telegram file_id, WhatsApp
// media id, Slack file id), with which an operator's tools can fetch it through that
// platform's API; url is where the platform serves it, when it says (Slack url_private,
// WhatsApp media url, a map link).
type Attachment struct {
	Type     string  `json:"type"` // image, video, audio, voice, document, sticker, animation, location, contact, order, ...
	Name     *string `json:"name"`
	Size     *int64  `json:"size"`
	MimeType *string `json:"mime_type"`
	FileID   string  `json:"file_id,omitempty"`
	URL      string  `json:"url,omitempty"`
	// Duration of audio and video, in seconds.
	Duration *float64 `json:"duration,omitempty"`
	// Latitude, Longitude and Address of a location.
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
	Address   string   `json:"address,omitempty"`
	// Phone of a shared contact.
	Phone string `json:"phone,omitempty"`
	// Details keeps the platform's own description where no field above fits (an order's
	// items, a form's answers).
	Details json.RawMessage `json:"details,omitempty"`
}

// Str returns a pointer to s, or nil when s is empty.
func Str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Size returns a pointer to n, or nil when n is not positive.
func Size(n int64) *int64 {
	if n <= 0 {
		return nil
	}
	return &n
}

// Num returns a pointer to f.
func Num(f float64) *float64 { return &f }
